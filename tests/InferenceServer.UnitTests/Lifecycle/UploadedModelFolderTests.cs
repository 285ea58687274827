using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;

namespace InferenceServer.UnitTests.Lifecycle;

/// <summary>Paths of uploaded model files must stay inside the model folder.</summary>
public sealed class UploadedModelFolderTests
{
    [Theory]
    [InlineData("1/model.onnx")]
    [InlineData("2/sub/dir/weights.bin")]
    [InlineData("warmup/input0")]
    [InlineData("1/..model.onnx")]
    [InlineData("1/model.onnx..")]
    public void Plain_relative_paths_are_accepted(string path) => UploadedModelFolder.ValidateRelativePath(path);

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("../1/model.onnx", "'..' segment")]
    [InlineData("1/../../model.onnx", "'..' segment")]
    [InlineData("1/..", "'..' segment")]
    [InlineData("./1/model.onnx", "'.' segment")]
    [InlineData("/etc/passwd", "is absolute")]
    [InlineData("1\\model.onnx", "backslash")]
    [InlineData("..\\..\\model.onnx", "backslash")]
    [InlineData("1//model.onnx", "empty segment")]
    [InlineData("1/model.onnx/", "empty segment")]
    [InlineData("C:/model.onnx", "drive letter")]
    [InlineData("1/mod\0el.onnx", "control character")]
    [InlineData("1/model\n.onnx", "control character")]
    public void Paths_that_could_leave_the_model_folder_are_refused(string path, string problem)
    {
        var error = Assert.Throws<InferenceException>(() => UploadedModelFolder.ValidateRelativePath(path));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Contains(problem, error.Message);
        Assert.Contains("file:<version>/<name>", error.Message);
    }

    [Fact]
    public void Files_are_written_under_a_fresh_folder_that_goes_away_with_the_last_reference()
    {
        var parent = Path.Combine(Path.GetTempPath(), "inference-server-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var folder = UploadedModelFolder.Create(parent, "m", new Dictionary<string, ReadOnlyMemory<byte>>
            {
                ["1/model.onnx"] = "one"u8.ToArray(),
                ["1/sub/extra.bin"] = "two"u8.ToArray(),
            });
            Assert.Equal("m", Path.GetFileName(folder.ModelPath));
            Assert.StartsWith(parent, folder.ModelPath, StringComparison.Ordinal);
            Assert.Equal("one", File.ReadAllText(Path.Combine(folder.ModelPath, "1", "model.onnx")));
            Assert.Equal("two", File.ReadAllText(Path.Combine(folder.ModelPath, "1", "sub", "extra.bin")));

            var version = folder.Acquire();
            folder.Release();
            Assert.True(Directory.Exists(folder.ModelPath), "a version still holds it");
            version.Dispose();
            version.Dispose();
            Assert.False(Directory.Exists(folder.ModelPath));
            Assert.Empty(Directory.GetFileSystemEntries(parent));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public void Nothing_is_written_when_one_path_is_bad()
    {
        var parent = Path.Combine(Path.GetTempPath(), "inference-server-tests", Guid.NewGuid().ToString("N"));
        Assert.Throws<InferenceException>(() => UploadedModelFolder.Create(parent, "m", new Dictionary<string, ReadOnlyMemory<byte>>
        {
            ["1/model.onnx"] = "one"u8.ToArray(),
            ["1/../../escape"] = "two"u8.ToArray(),
        }));
        Assert.False(Directory.Exists(parent));
    }
}
