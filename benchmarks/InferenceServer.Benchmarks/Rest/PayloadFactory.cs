using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Rest;

/// <summary>One tensor of a payload as a client holds it: name, type, shape and plain values.</summary>
internal sealed record ClientTensor(string Name, DataType DataType, long[] Shape, float[]? Floats, int[]? Ints)
{
    public byte[] ToBytes() => Floats is not null
        ? MemoryMarshal.AsBytes(Floats.AsSpan()).ToArray()
        : MemoryMarshal.AsBytes(Ints.AsSpan()).ToArray();
}

/// <summary>
/// Builds the wire bodies the benchmarks decode and the responses they encode, the way a KServe v2
/// client (tritonclient) would send them. Values are fixed by a seed so every run sees the same bytes.
/// </summary>
internal static class PayloadFactory
{
    public static string Model(Payload payload) => payload == Payload.Simple ? "simple" : "income";

    public static ClientTensor[] Inputs(Payload payload)
    {
        switch (payload)
        {
            case Payload.Income1:
            case Payload.Income32:
                var rows = payload == Payload.Income1 ? 1 : 32;
                return [new ClientTensor("features", DataType.Fp32, [rows, 58], IncomeFeatures(rows), null)];
            default:
                var input0 = new int[16];
                var input1 = new int[16];
                for (var i = 0; i < 16; i++)
                {
                    input0[i] = i;
                    input1[i] = 1;
                }
                return
                [
                    new ClientTensor("INPUT0", DataType.Int32, [1, 16], null, input0),
                    new ClientTensor("INPUT1", DataType.Int32, [1, 16], null, input1),
                ];
        }
    }

    public static ClientTensor[] Outputs(Payload payload)
    {
        switch (payload)
        {
            case Payload.Income1:
            case Payload.Income32:
                var rows = payload == Payload.Income1 ? 1 : 32;
                var random = new Random(7);
                var probability = new float[rows];
                for (var i = 0; i < rows; i++)
                {
                    probability[i] = random.NextSingle();
                }
                return [new ClientTensor("probability", DataType.Fp32, [rows, 1], probability, null)];
            default:
                var inputs = Inputs(payload);
                var sum = new int[16];
                var difference = new int[16];
                for (var i = 0; i < 16; i++)
                {
                    sum[i] = inputs[0].Ints![i] + inputs[1].Ints![i];
                    difference[i] = inputs[0].Ints![i] - inputs[1].Ints![i];
                }
                return
                [
                    new ClientTensor("OUTPUT0", DataType.Int32, [1, 16], null, sum),
                    new ClientTensor("OUTPUT1", DataType.Int32, [1, 16], null, difference),
                ];
        }
    }

    /// <summary>The JSON request: every input's values in <c>data</c>, outputs asked for by name.</summary>
    public static byte[] JsonRequest(Payload payload) => WriteRequest(payload, binary: false, out _);

    /// <summary>
    /// The binary-extension request: a JSON header whose inputs carry <c>binary_data_size</c> and whose
    /// outputs ask for <c>binary_data</c>, then the inputs' bytes; <paramref name="headerLength"/> is what
    /// the client sends as Inference-Header-Content-Length.
    /// </summary>
    public static byte[] BinaryRequest(Payload payload, out int headerLength) => WriteRequest(payload, binary: true, out headerLength);

    /// <summary>A response as the backend hands it to the encoder, its outputs in pooled tensors.</summary>
    public static InferenceResponse Response(Payload payload)
    {
        var outputs = Outputs(payload);
        var tensors = new Tensor[outputs.Length];
        for (var i = 0; i < outputs.Length; i++)
        {
            tensors[i] = Tensor.Copy(outputs[i].Name, outputs[i].DataType, outputs[i].Shape, outputs[i].ToBytes());
        }
        return new InferenceResponse(Model(payload), "1", "", tensors);
    }

    private static byte[] WriteRequest(Payload payload, bool binary, out int headerLength)
    {
        var inputs = Inputs(payload);
        var body = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("inputs");
            foreach (var input in inputs)
            {
                writer.WriteStartObject();
                writer.WriteString("name", input.Name);
                writer.WriteString("datatype", input.DataType.ProtocolName());
                writer.WriteStartArray("shape");
                foreach (var dim in input.Shape)
                {
                    writer.WriteNumberValue(dim);
                }
                writer.WriteEndArray();
                if (binary)
                {
                    writer.WriteStartObject("parameters");
                    writer.WriteNumber("binary_data_size", input.ToBytes().Length);
                    writer.WriteEndObject();
                }
                else
                {
                    writer.WriteStartArray("data");
                    if (input.Floats is not null)
                    {
                        foreach (var value in input.Floats)
                        {
                            writer.WriteNumberValue(value);
                        }
                    }
                    else
                    {
                        foreach (var value in input.Ints!)
                        {
                            writer.WriteNumberValue(value);
                        }
                    }
                    writer.WriteEndArray();
                }
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteStartArray("outputs");
            foreach (var output in Outputs(payload))
            {
                writer.WriteStartObject();
                writer.WriteString("name", output.Name);
                if (binary)
                {
                    writer.WriteStartObject("parameters");
                    writer.WriteBoolean("binary_data", true);
                    writer.WriteEndObject();
                }
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        headerLength = body.WrittenCount;
        if (binary)
        {
            foreach (var input in inputs)
            {
                body.Write(input.ToBytes());
            }
        }
        return body.WrittenSpan.ToArray();
    }

    // An encoded Adult-style record: five standardized numeric fields, then one-hot groups.
    private static float[] IncomeFeatures(int rows)
    {
        var random = new Random(42);
        var features = new float[rows * 58];
        for (var row = 0; row < rows; row++)
        {
            for (var i = 0; i < 58; i++)
            {
                features[(row * 58) + i] = i < 5 ? (float)((random.NextDouble() * 4) - 2) : random.Next(8) == 0 ? 1f : 0f;
            }
        }
        return features;
    }
}
