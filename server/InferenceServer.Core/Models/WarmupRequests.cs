using System.Buffers.Binary;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;
using WarmupInput = InferenceServer.Core.Repository.ModelWarmup.Types.Input;
using WarmupSample = InferenceServer.Core.Repository.ModelWarmup;

namespace InferenceServer.Core.Models;

/// <summary>
/// Runs a config's <c>model_warmup</c> samples on an instance before it takes traffic, as Triton
/// does: each sample's inputs are made once (<c>zero_data</c>, <c>random_data</c>, or the raw bytes of
/// <c>input_data_file</c> under the model's <c>warmup</c> folder), replicated <c>batch_size</c> times
/// along the batch dimension, and run <c>count</c> times on every instance. Any failure fails the
/// version's load with a reason that names the sample.
/// </summary>
internal sealed class WarmupRequests : IDisposable
{
    /// <summary>The folder, inside the model folder, that <c>input_data_file</c> names files in (Triton's name).</summary>
    public const string WarmupFolderName = "warmup";

    private readonly List<(WarmupSample Sample, Tensor[] Inputs)> _samples = [];
    private readonly string[] _outputNames;

    private WarmupRequests(ModelConfig config)
    {
        _outputNames = config.Output.Select(o => o.Name).ToArray();
    }

    /// <summary>Each sample's inputs (one batch), still owned by this object: the accuracy gate copies them as its evaluation rows.</summary>
    public IEnumerable<IReadOnlyList<Tensor>> Inputs => _samples.Select(s => (IReadOnlyList<Tensor>)s.Inputs);

    /// <summary>True when the config has no warm-up samples.</summary>
    public bool IsEmpty => _samples.Count == 0;

    /// <summary>
    /// Builds the warm-up inputs of <paramref name="config"/> (completed), reading data files as <paramref name="sources"/>
    /// says. Throws <see cref="ModelLoadException"/> naming the sample and input when one cannot be made.
    /// </summary>
    public static WarmupRequests Prepare(ModelConfig config, WarmupSources sources)
    {
        var warmup = new WarmupRequests(config);
        try
        {
            foreach (var sample in config.ModelWarmup)
            {
                var inputs = new List<Tensor>();
                try
                {
                    foreach (var (name, input) in sample.Inputs)
                    {
                        inputs.Add(MakeInput(config, sample, name, input, sources));
                    }
                }
                catch
                {
                    foreach (var tensor in inputs)
                    {
                        tensor.Dispose();
                    }
                    throw;
                }
                warmup._samples.Add((sample, inputs.ToArray()));
            }
        }
        catch
        {
            warmup.Dispose();
            throw;
        }
        return warmup;
    }

    /// <summary>
    /// Runs every sample <c>count</c> times on <paramref name="instance"/>; returns how many executions ran. Between
    /// executions it stops with <see cref="OperationCanceledException"/> once <paramref name="cancellationToken"/> is
    /// cancelled (an unload, the shutdown, the load's deadline).
    /// </summary>
    public int Run(IModelInstance instance, CancellationToken cancellationToken)
    {
        var executions = 0;
        foreach (var (sample, inputs) in _samples)
        {
            for (var i = 0; i < sample.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Tensor[] outputs;
                try
                {
                    outputs = instance.Run(inputs, _outputNames);
                }
                catch (BackendException e)
                {
                    throw new ModelLoadException($"warm-up sample '{sample.Name}' failed: {e.Message}");
                }
                foreach (var output in outputs)
                {
                    output.Dispose();
                }
                executions++;
            }
        }
        return executions;
    }

    private static Tensor MakeInput(ModelConfig config, WarmupSample sample, string name, WarmupInput input, WarmupSources sources)
    {
        var tensorConfig = config.Input.FirstOrDefault(t => t.Name == name)
            ?? throw new ModelLoadException($"warm-up sample '{sample.Name}' names input '{name}', which is not an input of the model");
        var type = input.DataType.ToTensorType();
        if (type != tensorConfig.ElementType())
        {
            throw new ModelLoadException($"warm-up sample '{sample.Name}' gives input '{name}' as {type.ConfigName()} but the model takes {tensorConfig.ElementType().ConfigName()}");
        }
        var batching = config.MaxBatchSize > 0;
        if (!batching && sample.BatchSize > 1)
        {
            throw new ModelLoadException($"warm-up sample '{sample.Name}' has batch_size {sample.BatchSize} but the model does not batch (max_batch_size 0)");
        }
        var batch = batching ? (int)sample.BatchSize : 1;
        long[] dims = [.. input.Dims];
        var elements = ShapeMath.ElementCount(dims);
        // The model sees the config's reshape, as a request's inputs do.
        long[] modelDims = tensorConfig.Reshape is { } reshape ? [.. reshape.Shape] : dims;
        long[] shape = batching ? [batch, .. modelDims] : modelDims;

        var one = MakeSample(sample, name, input, type, dims, elements, sources);
        var tensor = Tensor.Allocate(name, type, shape, checked(one.Length * batch));
        for (var b = 0; b < batch; b++)
        {
            one.CopyTo(tensor.Data[(b * one.Length)..]);
        }
        return tensor;
    }

    // One batch element's bytes in the v2 binary layout.
    private static byte[] MakeSample(WarmupSample sample, string name, WarmupInput input, DataType type, long[] dims, long elements, WarmupSources sources)
    {
        var size = type.ElementSize();
        switch (input.InputDataTypeCase)
        {
            case WarmupInput.InputDataTypeOneofCase.InputDataFile:
            {
                var folder = Path.GetFullPath(Path.Combine(sources.ModelFolder, WarmupFolderName));
                var path = Path.GetFullPath(Path.Combine(folder, input.InputDataFile));
                if (!path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    throw new ModelLoadException($"warm-up sample '{sample.Name}' input '{name}': input_data_file '{input.InputDataFile}' is outside the model's {WarmupFolderName} folder");
                }
                if (!sources.FollowLinks && SymbolicLinks.FirstLink(sources.ModelFolder, path) is { } link)
                {
                    throw new ModelLoadException($"warm-up sample '{sample.Name}' input '{name}': {SymbolicLinks.Refused(link)}");
                }
                byte[] data;
                try
                {
                    var length = new FileInfo(path).Length;
                    if (length > sources.MaxFileBytes)
                    {
                        throw new ModelLoadException(
                            $"warm-up sample '{sample.Name}' input '{name}': '{path}' has {length} bytes, more than the {sources.MaxFileBytes} a warm-up input may read (--model-warmup-max-bytes)");
                    }
                    data = File.ReadAllBytes(path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ModelLoadException($"warm-up sample '{sample.Name}' input '{name}': cannot read '{path}': {e.Message}");
                }
                if (type == DataType.Bytes)
                {
                    if (!BytesTensorLayout.TryCountElements(data, out var count, out var error) || count != elements)
                    {
                        throw new ModelLoadException($"warm-up sample '{sample.Name}' input '{name}': '{path}' must hold {elements} length-prefixed BYTES elements ({error ?? $"found {count}"})");
                    }
                }
                else if (data.LongLength != elements * size)
                {
                    throw new ModelLoadException($"warm-up sample '{sample.Name}' input '{name}': '{path}' has {data.LongLength} bytes but {type.ConfigName()} {ShapeMath.Format(dims)} needs {elements * size}");
                }
                return data;
            }
            case WarmupInput.InputDataTypeOneofCase.RandomData:
                return RandomSample(type, elements);
            default:
                // Zero data; a BYTES element of zero data is the empty string.
                return type == DataType.Bytes ? new byte[checked(elements * BytesTensorLayout.PrefixSize)] : new byte[checked(elements * size)];
        }
    }

    private static byte[] RandomSample(DataType type, long elements)
    {
        var random = Random.Shared;
        if (type == DataType.Bytes)
        {
            // Short printable strings: a string model can read them whatever its encoding.
            const int length = 8;
            var data = new byte[checked(elements * (BytesTensorLayout.PrefixSize + length))];
            var at = 0;
            Span<byte> text = stackalloc byte[length];
            for (long i = 0; i < elements; i++)
            {
                for (var c = 0; c < length; c++)
                {
                    text[c] = (byte)('a' + random.Next(26));
                }
                at += BytesTensorLayout.WriteElement(data.AsSpan(at), text);
            }
            return data;
        }
        var size = type.ElementSize();
        var bytes = new byte[checked(elements * size)];
        var span = bytes.AsSpan();
        for (long i = 0; i < elements; i++)
        {
            var element = span.Slice((int)(i * size), size);
            // Floating types get values in [0, 1) rather than random bits, which could be NaN or inf.
            switch (type)
            {
                case DataType.Bool:
                    element[0] = (byte)random.Next(2);
                    break;
                case DataType.Fp32:
                    BinaryPrimitives.WriteSingleLittleEndian(element, random.NextSingle());
                    break;
                case DataType.Fp64:
                    BinaryPrimitives.WriteDoubleLittleEndian(element, random.NextDouble());
                    break;
                case DataType.Fp16:
                    BinaryPrimitives.WriteHalfLittleEndian(element, (Half)random.NextSingle());
                    break;
                case DataType.Bf16:
                    BinaryPrimitives.WriteUInt16LittleEndian(element, (ushort)(BitConverter.SingleToUInt32Bits(random.NextSingle()) >> 16));
                    break;
                default:
                    random.NextBytes(element);
                    break;
            }
        }
        return bytes;
    }

    public void Dispose()
    {
        foreach (var (_, inputs) in _samples)
        {
            foreach (var tensor in inputs)
            {
                tensor.Dispose();
            }
        }
        _samples.Clear();
    }
}
