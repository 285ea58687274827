using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using InferenceServer.LibTorch;

namespace InferenceServer.UnitTests.LibTorch;

public sealed class TritonTensorOrderTests
{
    private static TensorInfo[] Named(params string[] names) => [.. names.Select(n => new TensorInfo(n, DataType.Fp32, [-1]))];

    [Fact]
    public void IndexedNamesGiveTheirPositionsWhateverTheConfigsOrder() =>
        Assert.Equal([2, 0, 1], TritonTensorOrder.Positions(Named("OUTPUT__2", "OUTPUT__0", "scores__1"), "output"));

    [Fact]
    public void NamesWithoutIndicesTakeTheConfigsOrder() =>
        Assert.Equal([0, 1, 2], TritonTensorOrder.Positions(Named("b", "a", "x__y"), "input"));

    [Fact]
    public void MixingTheConventionsIsRefusedNamingTheTensorWithoutAnIndex()
    {
        var error = Assert.Throws<BackendException>(() => TritonTensorOrder.Positions(Named("INPUT__0", "mask"), "input"));
        Assert.Equal("config input 'mask' has no __<index> suffix while other inputs have one; name every input <name>__<index> " +
            "(its position in forward()'s arguments) or none of them (then the config's order is the position)", error.Message);
    }

    [Theory]
    [InlineData("INPUT__0", "INPUT__0", "config input 'INPUT__0' has index 0, but the 2 inputs' indices must number 0 to 1, each once")]
    [InlineData("INPUT__0", "INPUT__2", "config input 'INPUT__2' has index 2, but the 2 inputs' indices must number 0 to 1, each once")]
    public void IndicesMustNumberEachPositionOnce(string first, string second, string message) =>
        Assert.Equal(message, Assert.Throws<BackendException>(() => TritonTensorOrder.Positions(Named(first, second), "input")).Message);
}
