using BenchmarkDotNet.Attributes;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Scheduling;

/// <summary>
/// Assembling a batch of <see cref="Requests"/> income-shaped requests (FP32 [1,58]) into one
/// pooled input and scattering a [n,1] output back into per-request tensors: the copy work the
/// dynamic batcher adds around the model. Divide the allocation by <see cref="Requests"/> for
/// bytes per request; the per-request output tensors are results handed to callers.
/// </summary>
[MemoryDiagnoser]
public class BatchAssemblyBenchmarks
{
    private static readonly string[] OutputNames = ["output"];

    private SchedulerWork[] _works = null!;
    private Tensor[] _assembled = null!;
    private Tensor[]?[] _results = null!;
    private Tensor[] _outputs = null!;
    private Tensor _output = null!;

    [Params(1, 8, 32, 64)]
    public int Requests { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _works = new SchedulerWork[Requests];
        for (var i = 0; i < Requests; i++)
        {
            var input = Tensor.Allocate("input", DataType.Fp32, [1, 58], 58 * sizeof(float));
            input.Data.Fill((byte)i);
            _works[i] = new SchedulerWork([input], OutputNames, 0, 0);
        }
        _assembled = new Tensor[1];
        _results = new Tensor[]?[Requests];
        _output = Tensor.Allocate("output", DataType.Fp32, [Requests, 1], Requests * sizeof(float));
        _outputs = [_output];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var work in _works)
        {
            work.Inputs[0].Dispose();
        }
        _output.Dispose();
    }

    /// <summary>
    /// The baseline: what a typical Python-style server does, concatenating the requests' arrays into
    /// a new batch array and copying each request's rows out into new arrays.
    /// </summary>
    [Benchmark(Baseline = true)]
    public int NaiveConcatenateAndSplit()
    {
        var batch = _works.SelectMany(w => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(w.Inputs[0].Data).ToArray()).ToArray();
        var rows = new float[Requests][];
        for (var i = 0; i < Requests; i++)
        {
            rows[i] = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(_output.Data).Slice(i, 1).ToArray();
        }
        return batch.Length + rows.Length;
    }

    [Benchmark]
    public int AssembleAndScatter()
    {
        BatchAssembler.AssembleInputs(_works, Requests, Requests, _assembled);
        var bytes = _assembled[0].ByteLength;
        BatchAssembler.DisposeAll(_assembled, 1);
        BatchAssembler.ScatterOutputs(_outputs, _works, Requests, Requests, _results);
        for (var i = 0; i < Requests; i++)
        {
            _results[i]![0].Dispose();
            _results[i] = null;
        }
        return bytes;
    }
}
