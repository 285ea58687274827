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
    public void Names_longer_than_a_file_system_allows_are_refused()
    {
        var error = Assert.Throws<InferenceException>(() => UploadedModelFolder.ValidateRelativePath("1/" + new string('a', 256)));
        Assert.Contains("has a name longer than 255 bytes", error.Message);
        UploadedModelFolder.ValidateRelativePath("1/" + new string('a', 255));
        error = Assert.Throws<InferenceException>(() => UploadedModelFolder.ValidateRelativePath(string.Join('/', Enumerable.Repeat(new string('a', 200), 6))));
        Assert.Contains("is longer than 1024 bytes", error.Message);
    }

    [Fact]
    public void Files_are_written_under_a_fresh_folder_that_goes_away_with_the_last_reference()
    {
        var parent = NewParent();
        try
        {
            var quota = new UploadQuota(1000);
            var folder = UploadedModelFolder.Create(parent, "m", 1000, quota);
            folder.AddFile("1/model.onnx", "one"u8);
            using (var file = folder.CreateFile("1/sub/extra.bin", 3))
            {
                file.Write("tw"u8);
                file.Write("o"u8);
            }
            Assert.Equal("m", Path.GetFileName(folder.ModelPath));
            Assert.StartsWith(parent, folder.ModelPath, StringComparison.Ordinal);
            Assert.Equal("one", File.ReadAllText(Path.Combine(folder.ModelPath, "1", "model.onnx")));
            Assert.Equal("two", File.ReadAllText(Path.Combine(folder.ModelPath, "1", "sub", "extra.bin")));
            Assert.Equal(6, quota.Used);

            var version = folder.Acquire();
            folder.Release();
            Assert.True(Directory.Exists(folder.ModelPath), "a version still holds it");
            version.Dispose();
            version.Dispose();
            Assert.False(Directory.Exists(folder.ModelPath));
            Assert.Empty(Directory.GetFileSystemEntries(parent));
            Assert.Equal(0, quota.Used);
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Theory]
    [InlineData("1/a", "1/a/b")]
    [InlineData("1/a/b", "1/a")]
    [InlineData("1/a/b/c", "1/a/b")]
    public void A_path_that_is_both_a_file_and_a_folder_is_refused_naming_both(string first, string second)
    {
        var parent = NewParent();
        try
        {
            var folder = UploadedModelFolder.Create(parent, "m", long.MaxValue, new UploadQuota(long.MaxValue));
            folder.AddFile(first, "x"u8);
            var error = Assert.Throws<InferenceException>(() => folder.AddFile(second, "y"u8));
            Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
            var (file, inside) = first.Length < second.Length ? (first, second) : (second, first);
            Assert.Contains($"file paths '{file}' and '{inside}' conflict", error.Message);
            Assert.Contains("given more than once", Assert.Throws<InferenceException>(() => folder.AddFile(first, "z"u8)).Message);
            folder.Release();
            Assert.Empty(Directory.GetFileSystemEntries(parent));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public void Bytes_past_the_per_load_or_the_total_limit_are_refused_before_they_are_written()
    {
        var parent = NewParent();
        try
        {
            var quota = new UploadQuota(10);
            var first = UploadedModelFolder.Create(parent, "a", 6, quota);
            first.AddFile("1/model.onnx", "12345"u8);
            var perLoad = Assert.Throws<InferenceException>(() => first.AddFile("1/more", "67"u8));
            Assert.Equal(InferenceErrorKind.TooLarge, perLoad.Kind);
            Assert.Contains("--model-upload-max-bytes", perLoad.Message);
            Assert.False(File.Exists(Path.Combine(first.ModelPath, "1", "more")));

            var second = UploadedModelFolder.Create(parent, "b", 6, quota);
            var total = Assert.Throws<InferenceException>(() => second.AddFile("1/model.onnx", "123456"u8));
            Assert.Equal(InferenceErrorKind.TooLarge, total.Kind);
            Assert.Contains("hold 5 of the 10 bytes allowed (--model-upload-max-total-bytes)", total.Message);

            first.Release();
            second.AddFile("1/model.onnx", "123456"u8);
            second.Release();
            Assert.Equal(0, quota.Used);
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    private static string NewParent() => Path.Combine(Path.GetTempPath(), "inference-server-tests", Guid.NewGuid().ToString("N"));
}
