using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Tensors;

public sealed class TensorTests
{
    [Fact]
    public void Copy_holds_exactly_the_given_bytes()
    {
        using var tensor = Tensor.Copy("x", DataType.UInt8, [3], [1, 2, 3]);
        Assert.Equal(3, tensor.ByteLength);
        Assert.Equal(new byte[] { 1, 2, 3 }, tensor.Data.ToArray());
        Assert.Equal(3, tensor.ElementCount);
    }

    [Fact]
    public void An_empty_tensor_needs_no_buffer()
    {
        using var tensor = Tensor.Allocate("x", DataType.Fp32, [0, 4], 0);
        Assert.Equal(0, tensor.ByteLength);
        Assert.True(tensor.Data.IsEmpty);
        Assert.Equal(0, tensor.ElementCount);
    }

    [Fact]
    public void A_disposed_tensor_refuses_access_and_names_itself()
    {
        var tensor = Tensor.Copy("probe", DataType.UInt8, [1], [9]);
        tensor.Dispose();
        var error = Assert.Throws<ObjectDisposedException>(() => tensor.Data.ToArray());
        Assert.Contains("'probe'", error.Message);
        tensor.Dispose();
    }

    [Fact]
    public void Rename_moves_the_buffer_to_the_new_tensor()
    {
        var original = Tensor.Copy("a", DataType.Int16, [2], [1, 0, 2, 0]);
        using var renamed = original.Rename("b", [1, 2]);
        Assert.Equal("b", renamed.Name);
        Assert.Equal(new long[] { 1, 2 }, renamed.Shape);
        Assert.Equal(new byte[] { 1, 0, 2, 0 }, renamed.Data.ToArray());
        Assert.Throws<ObjectDisposedException>(() => original.Data.ToArray());
        original.Dispose();
        Assert.Equal(4, renamed.ByteLength);
    }

    [Fact]
    public void Adopt_refuses_a_length_past_the_buffer()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Adopt("x", DataType.UInt8, [5], new byte[4], 5));
    }

    [Fact]
    public void Allocate_refuses_a_negative_length()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Allocate("x", DataType.UInt8, [1], -1));
    }
}
