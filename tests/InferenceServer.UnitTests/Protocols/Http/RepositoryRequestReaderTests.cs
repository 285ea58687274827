using System.Text;
using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Protocols.Http;

namespace InferenceServer.UnitTests.Protocols.Http;

/// <summary>The load request's files are decoded from the body into the upload piece by piece, however the JSON escapes them.</summary>
public sealed class RepositoryRequestReaderTests : IDisposable
{
    private readonly string _parent = Path.Combine(Path.GetTempPath(), "inference-server-tests", Guid.NewGuid().ToString("N"));
    private readonly List<ModelUpload> _uploads = [];

    private ModelUpload Begin()
    {
        var upload = new ModelUpload("m", UploadedModelFolder.Create(_parent, "m", long.MaxValue, new UploadQuota(long.MaxValue)));
        _uploads.Add(upload);
        return upload;
    }

    private byte[] ReadBack(string body, string path = "1/model.onnx")
    {
        var overrides = RepositoryRequestReader.ReadLoad(Encoding.UTF8.GetBytes(body), Begin);
        Assert.NotNull(overrides?.Files);
        return File.ReadAllBytes(Path.Combine(Directory.GetDirectories(_parent).Single(d => Directory.Exists(Path.Combine(d, "m", "1"))), "m", path));
    }

    // A load body with one file parameter whose JSON string is written as given (escapes and all).
    private static string Body(string value, string path = "1/model.onnx") => "{\"parameters\": {\"file:" + path + "\": \"" + value + "\"}}";

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(100_000)]
    [InlineData(200_001)]
    public void Files_are_decoded_whatever_the_escapes(int size)
    {
        var content = new byte[size];
        new Random(size).NextBytes(content);
        var base64 = Convert.ToBase64String(content);

        // System.Text.Json escapes '+' as \u002B.
        Assert.Equal(content, ReadBack(JsonSerializer.Serialize(new { parameters = new Dictionary<string, string> { ["file:1/model.onnx"] = base64 } })));
        Dispose();
        // Plain, as Python's json writes it.
        Assert.Equal(content, ReadBack(Body(base64)));
        Dispose();
        // Every '/' escaped as \/, and escaped whitespace, which base64 decoders skip.
        Assert.Equal(content, ReadBack(Body(base64.Replace("/", "\\/", StringComparison.Ordinal) + "\\n")));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("QUJD=")]
    [InlineData("QU=JD")]
    [InlineData("QUJ\\u00e9")]
    [InlineData("QUJ\\\"")]
    public void A_value_that_is_not_base64_is_an_invalid_argument(string value)
    {
        var error = Assert.Throws<InferenceException>(() => RepositoryRequestReader.ReadLoad(Encoding.UTF8.GetBytes(Body(value, "1/x")), Begin));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("'file:1/x' must be a string holding the file's contents in base64", error.Message);
    }

    [Fact]
    public void A_timeout_is_microseconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(1.5), RepositoryRequestReader.ReadLoad("""{"parameters": {"timeout": 1500000}}"""u8, Begin)!.Timeout);
        Assert.Throws<InferenceException>(() => RepositoryRequestReader.ReadLoad("""{"parameters": {"timeout": -1}}"""u8, Begin));
        Assert.Throws<InferenceException>(() => RepositoryRequestReader.ReadLoad("""{"parameters": {"timeout": "soon"}}"""u8, Begin));
    }

    // GetString checks a string's text only when it decodes it, and reports it as InvalidOperationException: an unpaired
    // surrogate escape or invalid UTF-8 in the config override (or a parameter's name) was a 500.
    [Theory]
    [InlineData("{\"parameters\": {\"config\": \"{\\\"name\\\": \\\"\\ud800\\\"}\"}}", "load parameter 'config' is not valid UTF-8")]
    [InlineData("{\"parameters\": {\"\\udc00\": 1}}", "a property name in the load request is not valid UTF-8")]
    public void Text_that_is_not_utf8_is_an_invalid_argument_naming_the_field(string body, string expected)
    {
        var error = Assert.Throws<InferenceException>(() => RepositoryRequestReader.ReadLoad(Encoding.UTF8.GetBytes(body), Begin));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_bytes_in_the_config_are_an_invalid_argument()
    {
        byte[] body = [.. "{\"parameters\": {\"config\": \"{"u8, 0xFF, 0xC3, 0x28, .. "}\"}}"u8];
        var error = Assert.Throws<InferenceException>(() => RepositoryRequestReader.ReadLoad(body, Begin));
        Assert.Contains("load parameter 'config' is not valid UTF-8", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (var upload in _uploads)
        {
            upload.Dispose();
        }
        _uploads.Clear();
    }
}
