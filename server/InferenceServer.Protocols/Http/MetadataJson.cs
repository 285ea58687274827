using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Serving;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Protocols.Http;

/// <summary>The JSON bodies of the v2 metadata endpoints.</summary>
internal static class MetadataJson
{
    /// <summary><c>GET /v2</c>: name, version, extensions, and the backends' runtimes (an extra field).</summary>
    public static void WriteServer(Utf8JsonWriter writer, ServerInfo info)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, info.Name);
        writer.WriteString("version"u8, info.Version);
        writer.WriteStartArray("extensions"u8);
        foreach (var extension in info.Extensions)
        {
            writer.WriteStringValue(extension);
        }
        writer.WriteEndArray();
        if (info.Backends.Count > 0)
        {
            writer.WriteStartArray("backends"u8);
            foreach (var backend in info.Backends)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, backend.Backend);
                writer.WriteString("runtime"u8, backend.Runtime);
                writer.WriteString("version"u8, backend.Version);
                writer.WriteString("flavor"u8, backend.Flavor);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    /// <summary><c>GET /v2/models/{m}[/versions/{v}]</c>: name, ready versions, platform, inputs and outputs as clients send them.</summary>
    public static void WriteModel(Utf8JsonWriter writer, ModelTarget target)
    {
        var config = target.Config;
        writer.WriteStartObject();
        writer.WriteString("name"u8, target.Name);
        writer.WriteStartArray("versions"u8);
        foreach (var ready in target.Route.ReadyVersions)
        {
            writer.WriteStringValue(ready);
        }
        writer.WriteEndArray();
        writer.WriteString("platform"u8, config.Platform);
        if (target.Precision.Length > 0)
        {
            // This server's addition: the precision a quantizing config ended up serving (int8-dynamic, or fp32 when refused).
            writer.WriteString("precision"u8, target.Precision);
        }
        WriteTensors(writer, "inputs"u8, config, config.Input);
        WriteTensors(writer, "outputs"u8, config, config.Output);
        writer.WriteEndObject();
    }

    private static void WriteTensors(Utf8JsonWriter writer, ReadOnlySpan<byte> property, ModelConfig config, IReadOnlyList<IModelTensor> tensors)
    {
        writer.WriteStartArray(property);
        foreach (var tensor in tensors)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, tensor.Name);
            writer.WriteString("datatype"u8, tensor.ElementType().ProtocolName());
            writer.WriteStartArray("shape"u8);
            foreach (var dim in RequestValidator.ExpectedShape(config, tensor))
            {
                writer.WriteNumberValue(dim);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    /// <summary><c>POST /v2/repository/index</c>: one object per model version.</summary>
    public static void WriteIndex(Utf8JsonWriter writer, IReadOnlyList<ModelIndexEntry> index, bool readyOnly)
    {
        writer.WriteStartArray();
        foreach (var row in index)
        {
            if (readyOnly && row.State != ModelState.Ready)
            {
                continue;
            }
            writer.WriteStartObject();
            writer.WriteString("name"u8, row.Name);
            if (row.Version.Length > 0)
            {
                writer.WriteString("version"u8, row.Version);
            }
            writer.WriteString("state"u8, row.State.ProtocolName());
            writer.WriteString("reason"u8, row.Reason);
            if (row.Precision.Length > 0)
            {
                writer.WriteString("precision"u8, row.Precision);
            }
            if (row.Memory is { } memory)
            {
                // This server's addition to Triton's row: the version's footprint, the budget and the headroom.
                writer.WriteStartObject("memory"u8);
                writer.WriteNumber("cpu_bytes"u8, memory.CpuBytes);
                writer.WriteBoolean("measured"u8, memory.Measured);
                if (memory.CpuBudgetBytes is { } budget)
                {
                    writer.WriteNumber("cpu_budget_bytes"u8, budget);
                    writer.WriteNumber("cpu_headroom_bytes"u8, memory.CpuHeadroomBytes!.Value);
                }
                if (memory.Gpus.Count > 0)
                {
                    writer.WriteStartArray("gpus"u8);
                    foreach (var gpu in memory.Gpus)
                    {
                        writer.WriteStartObject();
                        writer.WriteNumber("device"u8, gpu.Device);
                        writer.WriteNumber("bytes"u8, gpu.Bytes);
                        if (gpu.BudgetBytes is { } gpuBudget)
                        {
                            writer.WriteNumber("budget_bytes"u8, gpuBudget);
                            writer.WriteNumber("headroom_bytes"u8, gpu.HeadroomBytes!.Value);
                        }
                        writer.WriteEndObject();
                    }
                    writer.WriteEndArray();
                }
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }
}
