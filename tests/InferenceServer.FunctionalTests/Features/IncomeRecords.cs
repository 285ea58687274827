using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Google.Protobuf;
using InferenceServer.Core.Features;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Features;

/// <summary>
/// The income sample's raw records (models/income/example_records.json) and the reference the tests hold the server
/// to: each record encoded in the test by income's own feature view (models/income/features.pbtxt), read and run here
/// apart from the server, then sent as a plain infer.
/// </summary>
internal static class IncomeRecords
{
    public const int Features = 58;

    private static readonly Lazy<JsonArray> Examples = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "example_records.json")))!.AsArray());

    private static readonly Lazy<FeatureView> View = new(() =>
        FeatureViewReader.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", FeatureView.FileName)), "income"));

    /// <summary>The raw records: a 52-year-old married executive (above 50K) and a 23-year-old in service work (below).</summary>
    public static JsonObject Record(int index) => Examples.Value[index]!["record"]!.AsObject().DeepClone().AsObject();

    /// <summary>What the model gave the record when the sample was generated (rounded to 4 places).</summary>
    public static double GeneratedProbability(int index) => Examples.Value[index]!["probability"]!.GetValue<double>();

    /// <summary>The record's 58 features as income's view encodes them (the reference, computed here).</summary>
    public static float[] Encode(JsonObject record) => Encode(record, View.Value);

    /// <summary>The record's features as <paramref name="view"/> encodes them.</summary>
    public static float[] Encode(JsonObject record, FeatureView view)
    {
        using var rows = view.RentRows(1);
        foreach (var (name, value) in record)
        {
            Assert.True(view.TryGetField(name, out var field), $"income's view has no field '{name}'");
            if (value!.GetValueKind() == System.Text.Json.JsonValueKind.Number)
            {
                rows.SetNumber(0, field, Number(value));
            }
            else
            {
                rows.SetText(0, field, value.GetValue<string>());
            }
        }
        var tensor = Assert.Single(view.Transform(rows, DateTimeOffset.UtcNow));
        using (tensor)
        {
            return MemoryMarshal.Cast<byte, float>(tensor.Data).ToArray();
        }
    }

    /// <summary>A plain gRPC infer of <paramref name="features"/> (one row per 58).</summary>
    public static ModelInferRequest PlainInfer(string model, float[] features)
    {
        var request = new ModelInferRequest { ModelName = model };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP32", Shape = { features.Length / Features, Features } });
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(features.AsSpan())));
        return request;
    }

    /// <summary>The record as gRPC parameters: record.&lt;field&gt;, numbers as double_param, texts as string_param.</summary>
    public static void AddRecordParameters(ModelInferRequest request, JsonObject record)
    {
        foreach (var (name, value) in record)
        {
            request.Parameters.Add(FeatureParameters.RecordPrefix + name, value!.GetValueKind() == System.Text.Json.JsonValueKind.Number
                ? new InferParameter { DoubleParam = Number(value) }
                : new InferParameter { StringParam = value.GetValue<string>() });
        }
    }

    /// <summary>A JSON number as a double, however it was made (parsed, or set from an int).</summary>
    public static double Number(JsonNode value) => double.Parse(value.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The first output value of a gRPC answer.</summary>
    public static float[] Probabilities(ModelInferResponse response) => MemoryMarshal.Cast<byte, float>(response.RawOutputContents[0].Span).ToArray();
}
