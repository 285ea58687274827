using System.Text.Json;
using InferenceServer.Core.Monitoring;

namespace InferenceServer.Protocols.Http;

/// <summary>The body of the statistics extension's <c>GET /v2/models[/{m}[/versions/{v}]]/stats</c>.</summary>
internal static class StatisticsJson
{
    /// <summary><c>{"model_stats": [...]}</c>, durations in nanoseconds, <c>last_inference</c> in milliseconds since the epoch.</summary>
    public static void Write(Utf8JsonWriter writer, IReadOnlyList<ModelStatisticsSnapshot> models)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("model_stats"u8);
        foreach (var model in models)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, model.Name);
            writer.WriteString("version"u8, model.Version);
            if (model.Precision.Length > 0)
            {
                // This server's addition, which Triton's clients ignore: the precision a quantizing config ended up serving.
                writer.WriteString("precision"u8, model.Precision);
            }
            writer.WriteNumber("last_inference"u8, model.LastInferenceMs);
            writer.WriteNumber("inference_count"u8, model.InferenceCount);
            writer.WriteNumber("execution_count"u8, model.ExecutionCount);
            writer.WriteStartObject("inference_stats"u8);
            WriteDuration(writer, "success"u8, model.Success);
            WriteDuration(writer, "fail"u8, model.Fail);
            WriteDuration(writer, "queue"u8, model.Queue);
            WriteDuration(writer, "compute_input"u8, model.ComputeInput);
            WriteDuration(writer, "compute_infer"u8, model.ComputeInfer);
            WriteDuration(writer, "compute_output"u8, model.ComputeOutput);
            // There is no response cache; the fields are there because clients read them.
            WriteDuration(writer, "cache_hit"u8, default);
            WriteDuration(writer, "cache_miss"u8, default);
            writer.WriteEndObject();
            writer.WriteStartArray("batch_stats"u8);
            foreach (var batch in model.Batches)
            {
                writer.WriteStartObject();
                writer.WriteNumber("batch_size"u8, batch.BatchSize);
                WriteDuration(writer, "compute_input"u8, batch.ComputeInput);
                WriteDuration(writer, "compute_infer"u8, batch.ComputeInfer);
                WriteDuration(writer, "compute_output"u8, batch.ComputeOutput);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteDuration(Utf8JsonWriter writer, ReadOnlySpan<byte> name, DurationStatistic statistic)
    {
        writer.WriteStartObject(name);
        writer.WriteNumber("count"u8, statistic.Count);
        writer.WriteNumber("ns"u8, statistic.Ns);
        writer.WriteEndObject();
    }
}
