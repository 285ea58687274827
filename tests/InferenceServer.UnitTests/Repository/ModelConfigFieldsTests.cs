using Google.Protobuf.Reflection;
using InferenceServer.Core.Repository;
using Proto = InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.UnitTests.Repository;

/// <summary>
/// The field names the config reader suggests from are the schema's: each list equals the fields of its message in
/// the generated descriptor of model_config.proto, so a suggestion never names a field Triton does not have.
/// </summary>
public sealed class ModelConfigFieldsTests
{
    public static readonly TheoryData<string, string[], MessageDescriptor> Schema = new()
    {
        { "ModelConfig", ModelConfigFields.Model, Proto.ModelConfig.Descriptor },
        { "ModelInput", ModelConfigFields.Input, Proto.ModelInput.Descriptor },
        { "ModelOutput", ModelConfigFields.Output, Proto.ModelOutput.Descriptor },
        { "ModelTensorReshape", ModelConfigFields.Reshape, Proto.ModelTensorReshape.Descriptor },
        { "ModelVersionPolicy", ModelConfigFields.VersionPolicy, Proto.ModelVersionPolicy.Descriptor },
        { "ModelVersionPolicy.Latest", ModelConfigFields.VersionPolicyLatest, Proto.ModelVersionPolicy.Types.Latest.Descriptor },
        { "ModelVersionPolicy.All", ModelConfigFields.VersionPolicyAll, Proto.ModelVersionPolicy.Types.All.Descriptor },
        { "ModelVersionPolicy.Specific", ModelConfigFields.VersionPolicySpecific, Proto.ModelVersionPolicy.Types.Specific.Descriptor },
        { "ModelInstanceGroup", ModelConfigFields.InstanceGroup, Proto.ModelInstanceGroup.Descriptor },
        { "ModelDynamicBatching", ModelConfigFields.DynamicBatching, Proto.ModelDynamicBatching.Descriptor },
        { "ModelQueuePolicy", ModelConfigFields.QueuePolicy, Proto.ModelQueuePolicy.Descriptor },
        { "ModelParameter", ModelConfigFields.Parameter, Proto.ModelParameter.Descriptor },
        { "ModelWarmup", ModelConfigFields.Warmup, Proto.ModelWarmup.Descriptor },
        { "ModelWarmup.Input", ModelConfigFields.WarmupInput, Proto.ModelWarmup.Types.Input.Descriptor },
        { "ModelOptimizationPolicy", ModelConfigFields.Optimization, Proto.ModelOptimizationPolicy.Descriptor },
        { "ModelOptimizationPolicy.Graph", ModelConfigFields.OptimizationGraph, Proto.ModelOptimizationPolicy.Types.Graph.Descriptor },
        { "ExecutionAccelerators", ModelConfigFields.ExecutionAccelerators, Proto.ModelOptimizationPolicy.Types.ExecutionAccelerators.Descriptor },
        { "Accelerator", ModelConfigFields.Accelerator, Proto.ModelOptimizationPolicy.Types.ExecutionAccelerators.Types.Accelerator.Descriptor },
        { "ModelTransactionPolicy", ModelConfigFields.TransactionPolicy, Proto.ModelTransactionPolicy.Descriptor },
        { "ModelResponseCache", ModelConfigFields.ResponseCache, Proto.ModelResponseCache.Descriptor },
        { "map entry", ModelConfigFields.MapEntry, Proto.ModelConfig.Descriptor.FindFieldByName("parameters").MessageType },
    };

    [Theory]
    [MemberData(nameof(Schema))]
    public void Known_field_names_are_those_of_the_schema(string message, string[] known, MessageDescriptor descriptor)
    {
        var schema = descriptor.Fields.InDeclarationOrder().Select(f => f.Name).Order(StringComparer.Ordinal);
        Assert.True(schema.SequenceEqual(known.Order(StringComparer.Ordinal)),
            $"{message}: the schema has [{string.Join(", ", schema)}], the reader knows [{string.Join(", ", known.Order(StringComparer.Ordinal))}]");
    }

    [Theory]
    [InlineData("max_batchsize", "max_batch_size")]
    [InlineData("maxbatch_size", "max_batch_size")]
    [InlineData("max_batch", "max_batch_size")]
    [InlineData("dynamic_batch", "dynamic_batching")]
    [InlineData("instance_groups", "instance_group")]
    [InlineData("inputs", "input")]
    [InlineData("versoin_policy", "version_policy")]
    [InlineData("paramaters", "parameters")]
    [InlineData("whatever", null)]
    [InlineData("foo", null)]
    [InlineData("xyz_abc", null)]
    public void Suggests_the_closest_top_level_field(string unknown, string? expected)
    {
        Assert.Equal(expected, FieldNameSuggester.Closest(unknown, ModelConfigFields.Model));
    }

    [Theory]
    [InlineData("dmis", "dims")]
    [InlineData("dim", "dims")]
    [InlineData("datatype", "data_type")]
    [InlineData("type", null)]
    public void Suggests_the_closest_input_field(string unknown, string? expected)
    {
        Assert.Equal(expected, FieldNameSuggester.Closest(unknown, ModelConfigFields.Input));
    }

    [Theory]
    [InlineData("", "", 0)]
    [InlineData("abc", "", 3)]
    [InlineData("dims", "dmis", 1)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("ca", "abc", 3)]
    public void Distance_counts_edits_and_neighbour_swaps(string a, string b, int expected)
    {
        Assert.Equal(expected, FieldNameSuggester.Distance(a, b));
        Assert.Equal(expected, FieldNameSuggester.Distance(b, a));
    }
}
