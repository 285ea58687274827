using BenchmarkDotNet.Attributes;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using InferenceServer.Benchmarks.Raw;

namespace InferenceServer.Benchmarks.Quantization;

/// <summary>
/// Raw throughput of a model's precision variants (FP32, int8-dynamic, int8-static, fp16, and the same network in
/// another backend) at batch 1 and 32: one server instance (<see cref="IModelInstance.Run"/>, the code the server
/// runs) called in a loop, no server in front; a <c>.pt</c> file runs on the TorchScript backend. The variants are files named in the environment variable
/// <c>QUANTIZATION_VARIANTS</c> as <c>name=path</c> pairs separated by <c>;</c> (benchmarks/quantization.sh makes
/// them); without it, the FP32 <c>income</c> sample alone. Every variant gets the same input, so the rows of one model
/// compare like for like; the FP32 row of each model is the baseline its ratio is read against.
/// </summary>
[MemoryDiagnoser]
public class QuantizedVariantBenchmarks
{
    /// <summary>The environment variable that names the variant files.</summary>
    public const string VariablesName = "QUANTIZATION_VARIANTS";

    private IModelInstance _instance = null!;
    private Tensor[] _inputs = null!;
    private string[] _outputNames = null!;

    [ParamsSource(nameof(Variants))]
    public ModelVariant Variant { get; set; } = null!;

    [Params(1, 32)]
    public int Batch { get; set; }

    /// <summary>The variants from <see cref="VariablesName"/>, in the order given.</summary>
    public static IEnumerable<ModelVariant> Variants()
    {
        var text = Environment.GetEnvironmentVariable(VariablesName);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [new ModelVariant("income/fp32", Path.Combine(RepositoryFolder.Root(), "models", "income", "1", "model.onnx"))];
        }
        var variants = new List<ModelVariant>();
        foreach (var pair in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || equals == pair.Length - 1)
            {
                throw new ArgumentException($"{VariablesName}: '{pair}' is not name=path; expected e.g. encoder/fp32=benchmarks/.compute-repository/encoder/1/model.onnx");
            }
            var path = Path.GetFullPath(pair[(equals + 1)..]);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"{VariablesName}: the model file of '{pair[..equals]}' does not exist: {path}");
            }
            variants.Add(new ModelVariant(pair[..equals], path));
        }
        return variants;
    }

    [GlobalSetup]
    public void Setup()
    {
        // The model's config (two folders up, as in a repository) declares the signature for a backend whose files do not
        // (TorchScript); its parameters are left out so that every variant runs with the same runtime defaults.
        var config = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Variant.Path)!)!, "config.pbtxt");
        var declared = File.Exists(config) ? ConfigDeclaredSignature.From(ModelConfigReader.ReadFile(config).Config) : new ModelSignature([], []);
        _instance = Backend(Variant.Path).CreateInstance(new InstanceOptions(Variant.Path, InstanceKind.Cpu, 0, new Dictionary<string, string>()) { Declared = declared });
        _inputs = new Tensor[_instance.Signature.Inputs.Count];
        for (var i = 0; i < _inputs.Length; i++)
        {
            _inputs[i] = RawThroughput.MakeInput(_instance.Signature.Inputs[i], Batch);
        }
        _outputNames = _instance.Signature.Outputs.Select(output => output.Name).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var input in _inputs)
        {
            input.Dispose();
        }
        _instance.Dispose();
    }

    [Benchmark(Description = "one batch through the server's instance")]
    public void Run()
    {
        foreach (var output in _instance.Run(_inputs, _outputNames))
        {
            output.Dispose();
        }
    }

    // The backend the server would pick for the file.
    private static IModelBackend Backend(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".onnx" => RawThroughput.Backend(torchScript: false),
        ".pt" => RawThroughput.Backend(torchScript: true),
        var other => throw new NotSupportedException($"no backend in this benchmark for '{other}' files ({path}); expected .onnx or .pt"),
    };
}
