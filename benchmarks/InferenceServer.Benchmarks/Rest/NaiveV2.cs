using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Rest;

/// <summary>
/// The baseline: what a typical C# server does with a v2 body — <see cref="JsonSerializer"/> into
/// DTOs whose data is a <c>List&lt;double&gt;</c>, then a copy into a typed array; and on the way out
/// a copy of each output into an array put in an <c>object</c> property, serialized to a new byte[].
/// Reflection-based serializer with cached options, which is the common (and favourable) setup.
/// </summary>
internal static class NaiveV2
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Deserializes the request and converts each input's data to a float[] or int[].</summary>
    public static List<NaiveTensor> DecodeRequest(byte[] body)
    {
        var request = JsonSerializer.Deserialize<NaiveInferRequest>(body, Options) ?? throw new InvalidOperationException("null request");
        var tensors = new List<NaiveTensor>(request.Inputs.Count);
        foreach (var input in request.Inputs)
        {
            var data = input.Data ?? throw new InvalidOperationException($"input '{input.Name}' has no data");
            Array values;
            switch (input.Datatype)
            {
                case "FP32":
                    var floats = new float[data.Count];
                    for (var i = 0; i < floats.Length; i++)
                    {
                        floats[i] = (float)data[i];
                    }
                    values = floats;
                    break;
                case "INT32":
                    var ints = new int[data.Count];
                    for (var i = 0; i < ints.Length; i++)
                    {
                        ints[i] = (int)data[i];
                    }
                    values = ints;
                    break;
                default:
                    throw new NotSupportedException(input.Datatype);
            }
            tensors.Add(new NaiveTensor(input.Name, input.Shape, values));
        }
        return tensors;
    }

    /// <summary>Copies each output to a managed array and serializes the response DTO.</summary>
    public static byte[] EncodeResponse(InferenceResponse response)
    {
        var outputs = new List<NaiveOutput>(response.Outputs.Length);
        foreach (var output in response.Outputs)
        {
            object data = output.DataType switch
            {
                DataType.Fp32 => MemoryMarshal.Cast<byte, float>(output.Data).ToArray(),
                DataType.Int32 => MemoryMarshal.Cast<byte, int>(output.Data).ToArray(),
                _ => throw new NotSupportedException(output.DataType.ToString()),
            };
            outputs.Add(new NaiveOutput { Name = output.Name, Datatype = output.DataType.ProtocolName(), Shape = output.Shape, Data = data });
        }
        var dto = new NaiveInferResponse { ModelName = response.ModelName, ModelVersion = response.ModelVersion, Outputs = outputs };
        return JsonSerializer.SerializeToUtf8Bytes(dto, Options);
    }
}

/// <summary>A decoded input of the baseline.</summary>
internal sealed record NaiveTensor(string Name, List<long> Shape, Array Values);

internal sealed class NaiveInferRequest
{
    public string? Id { get; set; }

    public Dictionary<string, JsonElement>? Parameters { get; set; }

    public List<NaiveInput> Inputs { get; set; } = [];

    public List<NaiveRequestedOutput>? Outputs { get; set; }
}

internal sealed class NaiveInput
{
    public string Name { get; set; } = "";

    public string Datatype { get; set; } = "";

    public List<long> Shape { get; set; } = [];

    public Dictionary<string, JsonElement>? Parameters { get; set; }

    public List<double>? Data { get; set; }
}

internal sealed class NaiveRequestedOutput
{
    public string Name { get; set; } = "";

    public Dictionary<string, JsonElement>? Parameters { get; set; }
}

internal sealed class NaiveInferResponse
{
    public string ModelName { get; set; } = "";

    public string ModelVersion { get; set; } = "";

    public string? Id { get; set; }

    public List<NaiveOutput> Outputs { get; set; } = [];
}

internal sealed class NaiveOutput
{
    public string Name { get; set; } = "";

    public string Datatype { get; set; } = "";

    public long[] Shape { get; set; } = [];

    public object? Data { get; set; }
}
