using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Tensors;

public sealed class ShapeMathTests
{
    [Fact]
    public void A_scalar_has_one_element()
    {
        Assert.Equal(1, ShapeMath.ElementCount([]));
    }

    [Fact]
    public void Element_count_is_the_product_of_the_dims()
    {
        Assert.Equal(24, ShapeMath.ElementCount([2, 3, 4]));
        Assert.Equal(0, ShapeMath.ElementCount([5, 0, 7]));
    }

    [Fact]
    public void A_zero_dim_makes_any_shape_empty_even_after_huge_dims()
    {
        Assert.Equal(0, ShapeMath.ElementCount([0, long.MaxValue, long.MaxValue]));
    }

    [Fact]
    public void An_overflowing_product_throws()
    {
        Assert.Throws<OverflowException>(() => ShapeMath.ElementCount([long.MaxValue, 2]));
        Assert.Throws<OverflowException>(() => ShapeMath.ElementCount([1L << 32, 1L << 32]));
    }

    [Fact]
    public void Format_writes_brackets_and_commas()
    {
        Assert.Equal("[]", ShapeMath.Format([]));
        Assert.Equal("[7]", ShapeMath.Format([7]));
        Assert.Equal("[-1,3,224]", ShapeMath.Format([-1, 3, 224]));
    }
}
