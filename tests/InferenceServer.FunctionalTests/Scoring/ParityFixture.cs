using System.Globalization;
using System.Runtime.InteropServices;
using Grpc.Net.Client;
using InferenceServer.Core.Features;
using InferenceServer.FunctionalTests.Features;
using InferenceServer.FunctionalTests.Features.Sidecar;
using InferenceServer.FunctionalTests.Hosting;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;
using InferenceServer.Tests.Common.IncomeData;
using nietras.SeparatedValues;
using Parquet;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary>
/// The training–serving parity set-up, built once for its tests: 10,000 generated raw income records written to a
/// Parquet file and a CSV file (the same records), and a model repository whose <c>income</c> is the sample's model
/// plus an output <c>features_seen</c> that echoes its input (tests/fixtures/onnx/income_echo.onnx), under the sample's
/// own feature view. The online path is the real thing: <c>feature-sidecar materialize</c> loads the Parquet file into
/// a real Redis, <c>feature-sidecar serve</c> answers lookups from it, and the server predicts every entity by its id
/// over gRPC. The batch path is the real thing too: <c>inference-server score</c> as a process, once over the Parquet
/// file (writing Parquet) and once over the CSV file (writing CSV), its part files read back. <see cref="Reference"/>
/// is the view's encoding of the records computed in the test, apart from every path.
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

    /// <summary>The online server's REST address.</summary>
    public Uri ServerAddress => _server!.Client.BaseAddress!;

    /// <summary>A folder of the fixture's for a test's outputs.</summary>
    public string Folder => _folder;

    /// <summary>The view's encoding of every record, computed here (no probabilities).</summary>
    internal ScoredRows Reference { get; private set; } = null!;

    /// <summary>What the model received and answered for every entity, predicted online by its id.</summary>
    internal ScoredRows Online { get; private set; } = null!;

    /// <summary>The same online path over REST: predict with lists of entities, so the model sees batches of them, and the answers are JSON numbers.</summary>
    internal ScoredRows OnlineRest { get; private set; } = null!;

    /// <summary>What <c>score</c> wrote for the Parquet file.</summary>
    internal ScoredRows FromParquet { get; private set; } = null!;

    /// <summary>What <c>score</c> wrote for the CSV file.</summary>
    internal ScoredRows FromCsv { get; private set; } = null!;

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
        // Load shedding off: the parity run is 12 callers on a machine that other tests load too, where a stall of 100 ms
        // would start refusing (seen twice on a busy 2-core machine); what is compared here is the answers, not admission.
        _server = await RunningServer.StartAsync(Repository, ("FeatureSidecar:Path", socket), ("Server:MaxQueueBatches", "0"));
        Online = await PredictOnlineAsync(_server);
        OnlineRest = await PredictRestAsync(_server);
        FromParquet = await ScoreAsync(ParquetFile, "parquet");
        FromCsv = await ScoreAsync(CsvFile, "csv");
    }

    /// <summary>
    /// <c>inference-server score</c> over <paramref name="input"/>, writing <paramref name="format"/> part files, read
    /// back in name order: every row once, in the input's order, with the model's name and version.
    /// </summary>
    private async Task<ScoredRows> ScoreAsync(string input, string format)
    {
        var output = Path.Combine(_folder, "scored-" + Path.GetExtension(input).TrimStart('.'));
        var (exitCode, process) = await ServerProcess.RunAsync("score", "--model-repository", Repository, "--model", "income",
            "--input", input, "--output", output, "--output-format", format, "--json");
        using (process)
        {
            Assert.True(exitCode == 0, $"score {input} exited {exitCode}: {string.Join('\n', process.Error.Concat(process.Output.TakeLast(3)))}");
        }
        var scored = new ScoredRows($"the batch scorer from {Path.GetExtension(input).TrimStart('.').ToUpperInvariant()} (writing {format})", Rows, Width);
        var order = new List<long>();
        var parts = Directory.GetFiles(output, "part-*." + format).Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(parts);
        foreach (var part in parts)
        {
            if (format == "parquet")
            {
                await ReadParquetAsync(part, scored, order);
            }
            else
            {
                ReadCsv(part, scored, order);
            }
        }
        scored.AssertComplete();
        // Row order follows the input: the ids are the rows' numbers.
        Assert.Equal(Enumerable.Range(0, Rows).Select(i => (long)i), order);
        return scored;
    }

    private static async Task ReadParquetAsync(string part, ScoredRows scored, List<long> order)
    {
        await using var file = File.OpenRead(part);
        await using var reader = await ParquetReader.CreateAsync(file);
        var fields = reader.Schema.GetDataFields();
        Parquet.Schema.DataField Field(string name) => Array.Find(fields, f => f.Name == name) ?? throw new InvalidOperationException($"{part} has no column '{name}'");
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var rows = (int)group.RowCount;
            var ids = new string?[rows];
            await group.ReadAsync(Field("id"), ids.AsMemory());
            var probability = new float[rows];
            await group.ReadAsync(Field("probability"), probability.AsMemory());
            var features = new float[Width][];
            for (var c = 0; c < Width; c++)
            {
                features[c] = new float[rows];
                await group.ReadAsync(Field($"features_seen_{c}"), features[c].AsMemory());
            }
            var models = new string?[rows];
            await group.ReadAsync(Field("model"), models.AsMemory());
            var versions = new string?[rows];
            await group.ReadAsync(Field("model_version"), versions.AsMemory());
            var row = new float[Width];
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < Width; c++)
                {
                    row[c] = features[c][r];
                }
                var id = long.Parse(ids[r]!, CultureInfo.InvariantCulture);
                Assert.Equal(("income", "1"), (models[r], versions[r]));
                scored.Set(id, probability[r], row);
                order.Add(id);
            }
        }
    }

    private static void ReadCsv(string part, ScoredRows scored, List<long> order)
    {
        using var reader = Sep.Reader().FromFile(part);
        var id = reader.Header.IndexOf("id");
        var probability = reader.Header.IndexOf("probability");
        var features = Enumerable.Range(0, Width).Select(c => reader.Header.IndexOf($"features_seen_{c}")).ToArray();
        var model = reader.Header.IndexOf("model");
        var version = reader.Header.IndexOf("model_version");
        var values = new float[Width];
        foreach (var row in reader)
        {
            for (var c = 0; c < Width; c++)
            {
                values[c] = float.Parse(row[features[c]].Span, CultureInfo.InvariantCulture);
            }
            Assert.Equal(("income", "1"), (row[model].ToString(), row[version].ToString()));
            var key = long.Parse(row[id].Span, CultureInfo.InvariantCulture);
            scored.Set(key, float.Parse(row[probability].Span, CultureInfo.InvariantCulture), values);
            order.Add(key);
        }
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

    /// <summary>Every entity predicted over REST, 100 a request (<c>{"entities": [{"id": "0"}, ...]}</c>).</summary>
    private static async Task<ScoredRows> PredictRestAsync(RunningServer server)
    {
        const int PerRequest = 100;
        var online = new ScoredRows("the online path over REST (predict with lists of 100 entities)", Rows, Width);
        var next = -PerRequest;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int first;
            while ((first = Interlocked.Add(ref next, PerRequest)) < Rows)
            {
                var ids = Enumerable.Range(first, Math.Min(PerRequest, Rows - first)).ToArray();
                var body = "{\"entities\": [" + string.Join(", ", ids.Select(id => $"{{\"id\": \"{id}\"}}")) + "]}";
                var (response, answer) = await server.Client.PostJsonAsync("/v2/models/income/predict", body);
                Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {answer?.ToJsonString()}");
                var outputs = answer!["outputs"]!.AsArray();
                Assert.Equal(ids.Length, outputs.Count);
                for (var i = 0; i < ids.Length; i++)
                {
                    var features = outputs[i]!["features_seen"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
                    online.Set(ids[i], outputs[i]!["probability"]!.GetValue<float>(), features);
                }
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
