using System.Globalization;
using System.Runtime.InteropServices;
using Grpc.Net.Client;
using InferenceServer.Core.Features;
using InferenceServer.FunctionalTests.Features;
using InferenceServer.FunctionalTests.Features.Sidecar;
using InferenceServer.Protocols.Grpc.Messages;
using InferenceServer.Tests.Common.IncomeData;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary>
/// The training–serving parity set-up, built once for its tests: 10,000 generated raw income records written to a
/// Parquet file and a CSV file (the same records), and a model repository whose <c>income</c> is the sample's model
/// plus an output <c>features_seen</c> that echoes its input (tests/fixtures/onnx/income_echo.onnx), under the sample's
/// own feature view. The online path is the real thing: <c>feature-sidecar materialize</c> loads the Parquet file into
/// a real Redis, <c>feature-sidecar serve</c> answers lookups from it, and the server predicts every entity by its id
/// over gRPC. <see cref="Reference"/> is the view's encoding of the records computed in the test, apart from every path.
/// </summary>
public sealed class ParityFixture : IAsyncLifetime
{
    /// <summary>The records scored: the issue's 10,000, small enough for CI.</summary>
    public const int Rows = 10_000;

    /// <summary>The width of income's input.</summary>
    public const int Width = 58;

    private const int Seed = 15;

    private readonly string _folder = Directory.CreateTempSubdirectory("parity-").FullName;
    private RedisServer? _redis;
    private SidecarProcess? _sidecar;
    private RunningServer? _server;

    public string Repository => Path.Combine(_folder, "repository");

    public string ParquetFile => Path.Combine(_folder, "records.parquet");

    public string CsvFile => Path.Combine(_folder, "records.csv");

    /// <summary>A folder of the fixture's for a test's outputs.</summary>
    public string Folder => _folder;

    /// <summary>The view's encoding of every record, computed here (no probabilities).</summary>
    internal ScoredRows Reference { get; private set; } = null!;

    /// <summary>What the model received and answered for every entity, predicted online by its id.</summary>
    internal ScoredRows Online { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Several row groups, so the Parquet path reads across their boundaries.
        await IncomeFiles.WriteParquetAsync(ParquetFile, Rows, Seed, rowGroupRows: 3_000);
        IncomeFiles.WriteCsv(CsvFile, Rows, Seed);
        WriteRepository();
        Reference = Encode();

        _redis = await RedisServer.StartAsync();
        var (exitCode, materialize) = await SidecarProcess.RunAsync("materialize", "--model-repository", Repository, "--view", "income",
            "--from", ParquetFile, "--store", _redis.Address);
        using (materialize)
        {
            Assert.True(exitCode == 0, string.Join('\n', materialize.Error.Concat(materialize.Output)));
            Assert.Contains(materialize.Output, l => l.StartsWith($"materialized {Rows} rows", StringComparison.Ordinal) && l.EndsWith("0 bad rows skipped", StringComparison.Ordinal));
        }
        var socket = Path.Combine(_folder, "sidecar.sock");
        _sidecar = await SidecarProcess.ServeAsync(socket, _redis.Address);
        _server = await RunningServer.StartAsync(Repository, ("FeatureSidecar:Path", socket));
        Online = await PredictOnlineAsync(_server);
    }

    /// <summary>The sample's income, its model swapped for the echoing one and its config given the echo output.</summary>
    private void WriteRepository()
    {
        var model = Path.Combine(Repository, "income");
        Directory.CreateDirectory(Path.Combine(model, "1"));
        File.Copy(Path.Combine(RepositoryPaths.OnnxFixtures, "income_echo.onnx"), Path.Combine(model, "1", "model.onnx"));
        File.Copy(Path.Combine(RepositoryPaths.Models, "income", FeatureView.FileName), Path.Combine(model, FeatureView.FileName));
        File.WriteAllText(Path.Combine(model, "config.pbtxt"), """
            # income with its input echoed: features_seen is exactly the tensor the model received.
            name: "income"
            platform: "onnxruntime_onnx"
            max_batch_size: 256
            input [ { name: "features" data_type: TYPE_FP32 dims: [ 58 ] } ]
            output [
              { name: "probability" data_type: TYPE_FP32 dims: [ 1 ] },
              { name: "features_seen" data_type: TYPE_FP32 dims: [ 58 ] }
            ]
            instance_group [ { count: 1 kind: KIND_CPU } ]
            """);
        FakeStoreSidecarFixture.RelaxLookupTimeout(Repository);
    }

    /// <summary>The records again (same seed), through income's view read here from the sample's features.pbtxt.</summary>
    private ScoredRows Encode()
    {
        var view = FeatureViewReader.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", FeatureView.FileName)), "income");
        var records = new IncomeColumns(Rows);
        new IncomeRecordGenerator(Seed).Fill(records, Rows);
        var reference = new ScoredRows("the view's encoding computed in the test", Rows, Width);
        int Field(string name) => view.TryGetField(name, out var index) ? index : throw new InvalidOperationException($"income's view has no field '{name}'");
        int[] numbers = [.. IncomeRecordGenerator.NumericFields.Select(Field)];
        int[] texts = [.. IncomeRecordGenerator.TextFields.Select(Field)];
        using var rows = view.RentRows(Rows);
        for (var i = 0; i < Rows; i++)
        {
            rows.SetNumber(i, numbers[0], records.Age[i]);
            rows.SetNumber(i, numbers[1], records.EducationNum[i]);
            rows.SetNumber(i, numbers[2], records.HoursPerWeek[i]);
            rows.SetNumber(i, numbers[3], records.CapitalGain[i]);
            rows.SetNumber(i, numbers[4], records.CapitalLoss[i]);
            rows.SetText(i, texts[0], records.Workclass[i]);
            rows.SetText(i, texts[1], records.Education[i]);
            rows.SetText(i, texts[2], records.MaritalStatus[i]);
            rows.SetText(i, texts[3], records.Occupation[i]);
            rows.SetText(i, texts[4], records.Relationship[i]);
            rows.SetText(i, texts[5], records.Sex[i]);
        }
        var tensor = Assert.Single(view.Transform(rows, DateTimeOffset.UtcNow));
        using (tensor)
        {
            var features = MemoryMarshal.Cast<byte, float>(tensor.Data);
            for (var i = 0; i < Rows; i++)
            {
                reference.Set(records.Id[i], float.NaN, features.Slice(i * Width, Width));
            }
        }
        reference.AssertComplete();
        return reference;
    }

    /// <summary>Every entity predicted by its id over gRPC (server → sidecar → Redis → view → model), a few at a time.</summary>
    private static async Task<ScoredRows> PredictOnlineAsync(RunningServer server)
    {
        var online = new ScoredRows("the online path (gRPC predict by entity id: sidecar, Redis, view)", Rows, Width);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            int id;
            while ((id = Interlocked.Increment(ref next)) < Rows)
            {
                var request = new ModelInferRequest { ModelName = "income" };
                request.Parameters.Add(FeatureParameters.EntityPrefix + "id", new InferParameter { StringParam = id.ToString(CultureInfo.InvariantCulture) });
                var response = await client.ModelInferAsync(request);
                online.Set(id, Output(response, "probability", 1)[0], Output(response, "features_seen", Width));
            }
        })));
        online.AssertComplete();
        return online;
    }

    private static float[] Output(ModelInferResponse response, string name, int width)
    {
        var index = response.Outputs.ToList().FindIndex(o => o.Name == name);
        Assert.True(index >= 0, $"the answer has no output '{name}': {string.Join(", ", response.Outputs.Select(o => o.Name))}");
        Assert.Equal([1L, width], response.Outputs[index].Shape);
        return MemoryMarshal.Cast<byte, float>(response.RawOutputContents[index].Span).ToArray();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        _sidecar?.Dispose();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
