using InferenceServer.Core.Repository;

namespace InferenceServer.UnitTests.Repository;

/// <summary>
/// The reader suggests, for a misspelt field, the closest field of the schema at that level: the names come from the
/// generated descriptor of model_config.proto, so a suggestion never names a field Triton does not have.
/// </summary>
public sealed class FieldNameSuggesterTests
{
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
        Assert.Equal(expected, FieldNameSuggester.Closest(unknown, ModelConfig.Descriptor));
    }

    [Theory]
    [InlineData("dmis", "dims")]
    [InlineData("dim", "dims")]
    [InlineData("datatype", "data_type")]
    [InlineData("type", null)]
    public void Suggests_the_closest_input_field(string unknown, string? expected)
    {
        Assert.Equal(expected, FieldNameSuggester.Closest(unknown, ModelInput.Descriptor));
    }

    [Fact]
    public void Suggests_from_any_message_of_the_schema()
    {
        Assert.Equal("max_queue_size", FieldNameSuggester.Closest("max_queue", ModelQueuePolicy.Descriptor));
        Assert.Equal("key", FieldNameSuggester.Closest("kye", ModelConfig.Descriptor.FindFieldByName("parameters").MessageType));
        Assert.Null(FieldNameSuggester.Closest("anything", ModelVersionPolicy.Types.All.Descriptor));
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
