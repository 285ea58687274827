using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using InferenceServer.Core.Inference;
using InferenceServer.Protocols.Buffers;
using InferenceServer.Protocols.Http;

namespace InferenceServer.Benchmarks.Rest;

/// <summary>
/// Per-request cost of the KServe v2 REST codecs: decoding a request body (JSON data, or a JSON
/// header plus binary tensor data) into pooled tensors, and encoding a response (JSON data, or a
/// JSON header plus the outputs' bytes). The baseline in each category is the naive
/// <see cref="System.Text.Json.JsonSerializer"/> + DTO path (<see cref="NaiveV2"/>).
/// Bodies and responses are built once; the socket and the body read are not part of the measure.
/// </summary>
/// <remarks>Public and unsealed because BenchmarkDotNet derives its generated runner from it.</remarks>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class RestCodecBenchmarks
{
    private string _model = "";
    private byte[] _jsonRequest = [];
    private byte[] _binaryRequest = [];
    private int _binaryHeaderLength;
    private InferenceResponse? _response;
    private OutputFormat _binaryFormat = OutputFormat.AllBinary;

    [Params(Payload.Income1, Payload.Income32, Payload.Simple)]
    public Payload Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = PayloadFactory.Model(Payload);
        _jsonRequest = PayloadFactory.JsonRequest(Payload);
        _binaryRequest = PayloadFactory.BinaryRequest(Payload, out _binaryHeaderLength);
        _response = PayloadFactory.Response(Payload);
        // The per-output binary_data choice comes from the request, as it does in the server.
        using (var request = InferRequestDecoder.Decode(_model, null, _binaryRequest.AsSpan(0, _binaryHeaderLength), _binaryRequest.AsSpan(_binaryHeaderLength), out var format))
        {
            _binaryFormat = format;
        }
        Check();
    }

    [GlobalCleanup]
    public void Cleanup() => _response?.Dispose();

    [Benchmark(Baseline = true, Description = "naive STJ DTO, JSON")]
    [BenchmarkCategory("Decode")]
    public int DecodeNaiveJson() => NaiveV2.DecodeRequest(_jsonRequest).Count;

    [Benchmark(Description = "decoder, JSON")]
    [BenchmarkCategory("Decode")]
    public int DecodeJson()
    {
        using var request = InferRequestDecoder.Decode(_model, null, _jsonRequest, default, out _);
        return request.Inputs.Count;
    }

    [Benchmark(Description = "decoder, binary")]
    [BenchmarkCategory("Decode")]
    public int DecodeBinary()
    {
        var body = _binaryRequest.AsSpan();
        using var request = InferRequestDecoder.Decode(_model, null, body[.._binaryHeaderLength], body[_binaryHeaderLength..], out _);
        return request.Inputs.Count;
    }

    [Benchmark(Baseline = true, Description = "naive STJ DTO, JSON")]
    [BenchmarkCategory("Encode")]
    public int EncodeNaiveJson() => NaiveV2.EncodeResponse(_response!).Length;

    [Benchmark(Description = "encoder, JSON")]
    [BenchmarkCategory("Encode")]
    public int EncodeJson()
    {
        using var body = new PooledBufferWriter();
        InferResponseEncoder.WriteJson(body, _response!, OutputFormat.AllJson);
        return body.WrittenCount;
    }

    [Benchmark(Description = "encoder, binary")]
    [BenchmarkCategory("Encode")]
    public int EncodeBinary()
    {
        // The server writes the header and then the outputs' bytes into the response pipe; a pooled
        // writer stands in for the pipe here so the copy of the tensor bytes is counted.
        using var body = new PooledBufferWriter();
        InferResponseEncoder.WriteJson(body, _response!, _binaryFormat);
        foreach (var output in _response!.Outputs)
        {
            if (_binaryFormat.IsBinary(output.Name))
            {
                body.Write(output.Data);
            }
        }
        return body.WrittenCount;
    }

    // The three decoders must agree before their costs are compared.
    private void Check()
    {
        var expected = PayloadFactory.Inputs(Payload);
        var naive = NaiveV2.DecodeRequest(_jsonRequest);
        using var fromJson = InferRequestDecoder.Decode(_model, null, _jsonRequest, default, out _);
        var body = _binaryRequest.AsSpan();
        using var fromBinary = InferRequestDecoder.Decode(_model, null, body[.._binaryHeaderLength], body[_binaryHeaderLength..], out _);
        for (var i = 0; i < expected.Length; i++)
        {
            var bytes = expected[i].ToBytes();
            if (!fromJson.Inputs[i].Data.SequenceEqual(bytes) || !fromBinary.Inputs[i].Data.SequenceEqual(bytes))
            {
                throw new InvalidOperationException($"decoded input '{expected[i].Name}' differs from what was sent");
            }
            var naiveBytes = naive[i].Values switch
            {
                float[] f => System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()).ToArray(),
                int[] n => System.Runtime.InteropServices.MemoryMarshal.AsBytes(n.AsSpan()).ToArray(),
                _ => [],
            };
            if (!naiveBytes.AsSpan().SequenceEqual(bytes))
            {
                throw new InvalidOperationException($"the baseline decoded input '{expected[i].Name}' differently");
            }
        }
    }
}
