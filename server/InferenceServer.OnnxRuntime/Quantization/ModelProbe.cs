using Google.Protobuf;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Quantization;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>
/// A copy of a model loaded in ONNX Runtime (through the backend's own instance code) with chosen intermediate values
/// added as graph outputs: ONNX Runtime then tells their element types (its type inference, so the quantizer needs none
/// of its own) and, when run, their values (calibration). Also checks that a rewritten model loads at all.
/// </summary>
internal sealed partial class ModelProbe : IDisposable
{
    private readonly Dictionary<string, DataType> _types = new(StringComparer.Ordinal);

    private ModelProbe(IModelInstance instance)
    {
        Instance = instance;
        foreach (var output in instance.Signature.Outputs)
        {
            _types[output.Name] = output.DataType;
        }
    }

    public IModelInstance Instance { get; }

    /// <summary>Loads <paramref name="model"/> with <paramref name="values"/> as extra outputs; ONNX Runtime's refusal is thrown as a <see cref="BackendException"/>.</summary>
    public static ModelProbe Open(ModelProto model, IEnumerable<string> values)
    {
        var copy = model.Clone();
        var outputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in copy.Graph.Output)
        {
            outputs.Add(output.Name);
        }
        foreach (var value in values)
        {
            // No type: ONNX Runtime infers it, which is what the probe is for.
            if (outputs.Add(value))
            {
                copy.Graph.Output.Add(new ValueInfoProto { Name = value });
            }
        }
        var path = Path.Combine(Path.GetTempPath(), $"inference-server-probe-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, copy.ToByteArray());
            // Graph optimizations off: the probe reports the graph as written, and loads fast.
            var options = new InstanceOptions(path, InstanceKind.Cpu, 0, new Dictionary<string, string>()) { GraphOptimizationLevel = -1 };
            return new ModelProbe(OnnxRuntimeInstance.Create(options));
        }
        catch (IOException e)
        {
            throw new QuantizationException("the quantizer could not write its scratch copy of the model to the temporary folder", e);
        }
        finally
        {
            // ONNX Runtime has read the file into the session.
            File.Delete(path);
        }
    }

    /// <summary>Whether ONNX Runtime can load <paramref name="model"/>; the refusal's text when it cannot.</summary>
    public static string? LoadError(ModelProto model)
    {
        try
        {
            using var probe = Open(model, []);
            return null;
        }
        catch (BackendException e)
        {
            return Reason(e);
        }
    }

    /// <summary>ONNX Runtime's refusal without the name of the probe's scratch file, which means nothing to a user.</summary>
    public static string Reason(BackendException error) => ScratchFile().Replace(error.Message, "");

    /// <summary>The element type of a graph output or probed value; <see cref="DataType.Invalid"/> when not a tensor or not known.</summary>
    public DataType TypeOf(string value) => _types.GetValueOrDefault(value);

    public void Dispose() => Instance.Dispose();

    [System.Text.RegularExpressions.GeneratedRegex(@"Load model from \S*inference-server-probe-\w+\.onnx failed: ?")]
    private static partial System.Text.RegularExpressions.Regex ScratchFile();
}
