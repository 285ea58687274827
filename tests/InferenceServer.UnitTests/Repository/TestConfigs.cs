using InferenceServer.Core.Repository;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Repository;

/// <summary>Config messages built in code, with the server's tensor types, for tests that need no config text.</summary>
internal static class TestConfigs
{
    public static ModelInput Input(string name, DataType type, long[] dims, long[]? reshape = null, bool optional = false)
    {
        var input = new ModelInput { Name = name, DataType = type.ToConfigType(), Reshape = Reshape(reshape), Optional = optional };
        input.Dims.Add(dims);
        return input;
    }

    public static ModelOutput Output(string name, DataType type, long[] dims, long[]? reshape = null)
    {
        var output = new ModelOutput { Name = name, DataType = type.ToConfigType(), Reshape = Reshape(reshape) };
        output.Dims.Add(dims);
        return output;
    }

    public static ModelConfig Config(string name, int maxBatchSize, IEnumerable<ModelInput> inputs, IEnumerable<ModelOutput> outputs)
    {
        var config = new ModelConfig { Name = name, MaxBatchSize = maxBatchSize };
        config.Input.Add(inputs);
        config.Output.Add(outputs);
        return config;
    }

    public static ModelInstanceGroup Group(ModelInstanceGroup.Types.Kind kind, int count, params int[] gpus)
    {
        var group = new ModelInstanceGroup { Kind = kind, Count = count };
        group.Gpus.Add(gpus);
        return group;
    }

    private static ModelTensorReshape? Reshape(long[]? shape)
    {
        if (shape is null)
        {
            return null;
        }
        var reshape = new ModelTensorReshape();
        reshape.Shape.Add(shape);
        return reshape;
    }
}
