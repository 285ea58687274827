using System.Buffers.Binary;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Serving;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// <c>score --compare-with URL</c>: a training–serving parity check a user can run. The first rows of the input are
/// scored here (the batch path: this file's reader, the view or column mapping, the front door) and sent to a running
/// server over REST: as raw records to <c>POST /v2/models/{m}/predict</c> when the model has a feature view, else as
/// the same tensors to <c>POST /v2/models/{m}/infer</c>. Every output value must be equal, bit for bit as its type
/// reads back from JSON; each row that is not is reported.
/// </summary>
public static class ScoreComparison
{
    private const int RowsPerRequest = 64;

    /// <summary>Compares the first <paramref name="rows"/> rows of <paramref name="options"/>' input (its shard) with <paramref name="server"/>'s answers.</summary>
    /// <exception cref="ScoreException">The server cannot be reached, or refuses a request (its answer is quoted).</exception>
    public static async Task<ComparisonReport> RunAsync(InferenceFrontDoor frontDoor, ScoreOptions options, Uri server, int rows, HttpClient http,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frontDoor);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(http);
        var config = frontDoor.Describe(options.Model, options.ModelVersion, default).Config;
        var view = frontDoor.FindFeatureView(options.Model);
        BatchEncoder encoder = view is null ? new TensorEncoder(config) : new ViewEncoder(view);
        var schema = new OutputSchema(options.Model, [], config, view?.Prediction);
        var files = ScoreInput.ResolveFiles(options.Input);
        var splits = InputSplits.Shard(await InputSplits.PlanAsync(files, options.SplitBytes, cancellationToken).ConfigureAwait(false), options.Shard, options.Shards);
        var keys = options.KeyColumns ?? view?.EntityKeys ?? [];
        string[] columns = [.. encoder.Columns, .. keys];
        var path = options.ModelVersion is null ? $"v2/models/{Uri.EscapeDataString(options.Model)}" : $"v2/models/{Uri.EscapeDataString(options.Model)}/versions/{Uri.EscapeDataString(options.ModelVersion)}";
        var endpoint = new Uri(server, path + (view is null ? "/infer" : "/predict"));
        // A request of the model's own batch size at most, as the scorer sends.
        var perRequest = config.MaxBatchSize > 0 ? (int)Math.Min(RowsPerRequest, config.MaxBatchSize) : RowsPerRequest;
        var differences = new List<ComparedRow>();
        var compared = 0;
        var skipped = 0;
        using var batch = new RecordBatch(columns);
        foreach (var split in splits)
        {
            if (compared + skipped >= rows)
            {
                break;
            }
            await using var reader = await RecordReader.OpenAsync(split, columns, cancellationToken).ConfigureAwait(false);
            long? before = null;
            while (compared + skipped < rows && await reader.ReadAsync(batch, Math.Min(perRequest, rows - compared - skipped), cancellationToken).ConfigureAwait(false))
            {
                var good = new List<int>(batch.Count);
                var bad = new Dictionary<int, string>();
                foreach (var (row, reason) in batch.Problems)
                {
                    bad.TryAdd(row, reason);
                }
                var inputs = encoder.Encode(batch, good, bad, DateTimeOffset.UtcNow);
                skipped += bad.Count;
                if (good.Count == 0)
                {
                    continue;
                }
                var body = view is null ? InferBody(inputs) : PredictBody(batch, good, encoder.Columns.Count);
                using var request = new InferenceRequest { ModelName = options.Model, ModelVersion = options.ModelVersion };
                request.Inputs.AddRange(inputs);
                request.RequestedOutputs.AddRange(schema.Outputs);
                InferenceResponse response;
                try
                {
                    response = await frontDoor.InferAsync(frontDoor.Resolve(options.Model, options.ModelVersion, default), request, default, cancellationToken).ConfigureAwait(false);
                }
                catch (InferenceException e)
                {
                    throw new ScoreException($"--compare-with: model '{options.Model}' failed on rows of {split}: {e.Message}", e);
                }
                using var answered = response;
                var local = new ScoredBatch { Split = split, Count = good.Count, Outputs = response.Outputs, ModelVersion = response.ModelVersion };
                using var remote = await PostAsync(http, endpoint, body, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < good.Count; i++)
                {
                    if (Difference(schema, local, remote.RootElement, view is not null, i) is { } difference)
                    {
                        before ??= InputSplits.RowsBefore(split);
                        var key = string.Join(", ", Enumerable.Range(0, keys.Count).Select(k => $"{keys[k]}={batch.Cells.CellText(encoder.Columns.Count + k, good[i])}"));
                        differences.Add(new ComparedRow(split.Path, before.Value + batch.RowNumber(good[i]), key, difference.Output, difference.Local, difference.Remote));
                    }
                }
                compared += good.Count;
            }
        }
        return new ComparisonReport { Server = server, Compared = compared, Skipped = skipped, Differences = differences };
    }

    private static async Task<JsonDocument> PostAsync(HttpClient http, Uri endpoint, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        HttpResponseMessage answer;
        try
        {
            answer = await http.PostAsync(endpoint, content, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new ScoreException($"--compare-with: cannot reach {endpoint}: {e.Message}", e);
        }
        using (answer)
        {
            var text = await answer.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!answer.IsSuccessStatusCode)
            {
                throw new ScoreException($"--compare-with: {endpoint} answered {(int)answer.StatusCode}: {(text.Length > 300 ? text[..300] + "..." : text)}");
            }
            try
            {
                return JsonDocument.Parse(text);
            }
            catch (JsonException e)
            {
                throw new ScoreException($"--compare-with: {endpoint} answered something that is not JSON: {e.Message}", e);
            }
        }
    }

    // {"records": [{field: value, ...}, ...]}: the raw values as the file gave them, numbers as numbers.
    private static byte[] PredictBody(RecordBatch batch, List<int> good, int fields)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("records");
            foreach (var row in good)
            {
                json.WriteStartObject();
                for (var c = 0; c < fields; c++)
                {
                    if (batch.Cells.TryGetNumber(c, row, out var number))
                    {
                        json.WriteNumber(batch.Columns[c], number);
                    }
                    else if (batch.Cells.TryGetText(c, row, out var text))
                    {
                        json.WriteString(batch.Columns[c], text);
                    }
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    // The v2 infer of the same tensors, as JSON.
    private static byte[] InferBody(Tensor[] inputs)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("inputs");
            foreach (var input in inputs)
            {
                json.WriteStartObject();
                json.WriteString("name", input.Name);
                json.WriteString("datatype", input.DataType.ProtocolName());
                json.WriteStartArray("shape");
                foreach (var dim in input.Shape)
                {
                    json.WriteNumberValue(dim);
                }
                json.WriteEndArray();
                json.WriteStartArray("data");
                var size = input.DataType.ElementSize();
                var data = input.Data;
                for (var at = 0; at + size <= data.Length; at += size)
                {
                    WriteElement(json, input.DataType, data.Slice(at, size));
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteElement(Utf8JsonWriter json, DataType type, ReadOnlySpan<byte> bytes)
    {
        switch (type)
        {
            case DataType.Fp32:
                json.WriteNumberValue(BinaryPrimitives.ReadSingleLittleEndian(bytes));
                break;
            case DataType.Fp64:
                json.WriteNumberValue(BinaryPrimitives.ReadDoubleLittleEndian(bytes));
                break;
            case DataType.Fp16:
                json.WriteNumberValue((float)BinaryPrimitives.ReadHalfLittleEndian(bytes));
                break;
            case DataType.Bool:
                json.WriteBooleanValue(bytes[0] != 0);
                break;
            case DataType.Int8:
                json.WriteNumberValue((sbyte)bytes[0]);
                break;
            case DataType.UInt8:
                json.WriteNumberValue(bytes[0]);
                break;
            case DataType.Int16:
                json.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(bytes));
                break;
            case DataType.UInt16:
                json.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(bytes));
                break;
            case DataType.Int32:
                json.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(bytes));
                break;
            case DataType.UInt32:
                json.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(bytes));
                break;
            case DataType.Int64:
                json.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(bytes));
                break;
            default:
                json.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(bytes));
                break;
        }
    }

    // The first value of row i that differs between the local outputs and the server's answer; null when none does.
    private static (string Output, string Local, string Remote)? Difference(OutputSchema schema, ScoredBatch local, JsonElement remote, bool predict, int i)
    {
        if (!remote.TryGetProperty("outputs", out var outputs))
        {
            return ("outputs", "", "the answer has no outputs");
        }
        if (predict)
        {
            // A list of rows, each {prediction, output: value or [values]}.
            if (outputs.ValueKind != JsonValueKind.Array || i >= outputs.GetArrayLength())
            {
                return ("outputs", "", "the answer has fewer rows than were sent");
            }
            var row = outputs[i];
            if (schema.Prediction is not null && row.TryGetProperty(FeatureParameters.Prediction, out var label) && label.GetString() != schema.Label(local, i))
            {
                return (FeatureParameters.Prediction, schema.Label(local, i), label.GetString() ?? "null");
            }
            foreach (var column in schema.Predictions)
            {
                var name = schema.Outputs[column.Output];
                if (!row.TryGetProperty(name, out var value))
                {
                    return (name, "", "missing");
                }
                var element = column.Width == 1 ? value : value.ValueKind == JsonValueKind.Array && column.Element < value.GetArrayLength() ? value[column.Element] : default;
                if (Differs(column, OutputSchema.Value(local, column, i), element) is { } remoteText)
                {
                    return (column.Name, Show(column, OutputSchema.Value(local, column, i)), remoteText);
                }
            }
            return null;
        }
        foreach (var column in schema.Predictions)
        {
            var name = schema.Outputs[column.Output];
            JsonElement? found = null;
            foreach (var output in outputs.EnumerateArray())
            {
                if (output.TryGetProperty("name", out var n) && n.GetString() == name)
                {
                    found = output;
                }
            }
            if (found is not { } tensor || !tensor.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                return (name, "", "missing");
            }
            var index = i * column.Width + column.Element;
            var element = index < data.GetArrayLength() ? data[index] : default;
            if (Differs(column, OutputSchema.Value(local, column, i), element) is { } remoteText)
            {
                return (column.Name, Show(column, OutputSchema.Value(local, column, i)), remoteText);
            }
        }
        return null;
    }

    // The remote value's text when it differs from the local one (read back as the output's own type); else null.
    private static string? Differs(OutputColumn column, double local, JsonElement remote)
    {
        if (remote.ValueKind is not (JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False))
        {
            return remote.ValueKind == JsonValueKind.Undefined ? "missing" : remote.GetRawText();
        }
        if (remote.ValueKind != JsonValueKind.Number)
        {
            return (remote.ValueKind == JsonValueKind.True ? 1 : 0) == local ? null : remote.GetRawText();
        }
        var same = column.Type switch
        {
            DataType.Fp32 or DataType.Fp16 => remote.TryGetSingle(out var f) && BitConverter.SingleToInt32Bits(f) == BitConverter.SingleToInt32Bits((float)local),
            DataType.Fp64 => remote.TryGetDouble(out var d) && BitConverter.DoubleToInt64Bits(d) == BitConverter.DoubleToInt64Bits(local),
            _ => remote.TryGetDouble(out var n) && n == local,
        };
        return same ? null : remote.GetRawText();
    }

    private static string Show(OutputColumn column, double value) => column.Type is DataType.Fp32 or DataType.Fp16
        ? ((float)value).ToString("R", CultureInfo.InvariantCulture)
        : value.ToString("R", CultureInfo.InvariantCulture);
}
