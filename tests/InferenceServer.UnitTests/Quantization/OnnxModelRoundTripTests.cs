using Google.Protobuf;
using InferenceServer.OnnxRuntime.Quantization;

namespace InferenceServer.UnitTests.Quantization;

public sealed class OnnxModelRoundTripTests
{
    public static TheoryData<string> Models()
    {
        var data = new TheoryData<string>();
        foreach (var folder in new[] { RepositoryPaths.Models, RepositoryPaths.OnnxFixtures })
        {
            // The committed models only: a server that served models/ leaves its load-time variants in hidden .quantized
            // folders there, which would make the test set depend on what ran before.
            foreach (var file in Directory.EnumerateFiles(folder, "*.onnx", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                         .Where(f => !Path.GetRelativePath(folder, f).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.'))))
            {
                data.Add(Path.GetRelativePath(RepositoryPaths.Root, file));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Reading_and_writing_a_model_gives_back_the_same_bytes(string relativePath)
    {
        var path = Path.Combine(RepositoryPaths.Root, relativePath);
        var original = File.ReadAllBytes(path);

        // Parsed as it is: a model with external data keeps its reference (following it is tested below).
        var written = OnnxModelFile.Parse(original, Path.GetFileName(path)).ToByteArray();

        Assert.Equal(original.Length, written.Length);
        Assert.True(original.AsSpan().SequenceEqual(written), $"{relativePath}: the bytes written differ from the file's");
    }

    [Fact]
    public void External_data_beside_the_model_is_read_into_it()
    {
        var folder = QuantizationFixtures.TemporaryFolder();
        try
        {
            var path = Path.Combine(folder, "model.onnx");
            File.Copy(Path.Combine(RepositoryPaths.OnnxFixtures, "external_weights.onnx"), path);
            File.WriteAllBytes(Path.Combine(folder, "weights.bin"), "WXYZ"u8.ToArray());

            var weights = Assert.Single(OnnxModelFile.Read(path).Graph.Initializer);

            Assert.Equal("WXYZ"u8.ToArray(), weights.RawData.ToByteArray());
            Assert.Empty(weights.ExternalData);
            Assert.False(weights.HasDataLocation);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void External_data_that_is_missing_or_outside_the_folder_is_refused_without_server_paths()
    {
        var missing = Assert.Throws<Core.Quantization.QuantizationException>(() =>
            OnnxModelFile.Read(Path.Combine(RepositoryPaths.OnnxFixtures, "external_weights.onnx")));
        Assert.Equal("tensor 'weights' of 'external_weights.onnx' keeps its data in an external file 'weights.bin' that cannot be read: it does not exist",
            missing.Message);

        var escape = Assert.Throws<Core.Quantization.QuantizationException>(() =>
            OnnxModelFile.Read(Path.Combine(RepositoryPaths.OnnxFixtures, "external_escape.onnx")));
        Assert.Contains("'../../outside.bin' outside the model's folder", escape.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(RepositoryPaths.Root, escape.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_sample_models_are_all_covered()
    {
        // models/ has income, income_gbt, simple, half_scale and text_upper; a theory over nothing would pass unseen.
        Assert.True(Models().Cast<object[]>().Count() >= 5);
    }
}
