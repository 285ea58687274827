using System.Buffers.Binary;
using System.Globalization;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Quantization;

/// <summary>
/// An honest fake backend for the gate's arithmetic: a "model file" holds a number k as text, and its instance really
/// computes output <c>y = k · x</c> (FP32, same shape), so the errors and decisions between two files are known by hand.
/// </summary>
internal sealed class ScaleBackend : IModelBackend
{
    public string Name => "scale";

    public string Platform => "scale";

    public string DefaultModelFilename => "model.txt";

    public IModelInstance CreateInstance(InstanceOptions options) =>
        new ScaleInstance(float.Parse(File.ReadAllText(options.ModelPath), CultureInfo.InvariantCulture));

    private sealed class ScaleInstance(float scale) : IModelInstance
    {
        public ModelSignature Signature { get; } = new([new TensorInfo("x", DataType.Fp32, [-1, -1])], [new TensorInfo("y", DataType.Fp32, [-1, -1])]);

        public Tensor[] Run(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames)
        {
            var x = inputs[0];
            var y = Tensor.Allocate("y", DataType.Fp32, x.Shape, x.ByteLength);
            for (var at = 0; at < x.ByteLength; at += 4)
            {
                BinaryPrimitives.WriteSingleLittleEndian(y.Data[at..], scale * BinaryPrimitives.ReadSingleLittleEndian(x.Data[at..]));
            }
            return [y];
        }

        public void Dispose()
        {
        }
    }
}
