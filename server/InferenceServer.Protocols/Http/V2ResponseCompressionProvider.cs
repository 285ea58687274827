using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// ASP.NET Core's choice of response encoding (q-values of <c>Accept-Encoding</c>, gzip then deflate on a tie), with two
/// rules of the REST front-end on top: only successful responses are compressed, because Triton's client reads an error
/// body without decompressing it (as Triton sends errors plain); and only bodies of at least
/// <see cref="HttpProtocolOptions.ResponseCompressionMinimumBytes"/>, below which compression costs more than it saves.
/// </summary>
internal sealed class V2ResponseCompressionProvider(IServiceProvider services, IOptions<ResponseCompressionOptions> options, IOptions<HttpProtocolOptions> http)
    : IResponseCompressionProvider
{
    private readonly ResponseCompressionProvider _inner = new(services, options);
    private readonly long _minimumBytes = http.Value.ResponseCompressionMinimumBytes;

    public ICompressionProvider? GetCompressionProvider(HttpContext context) => _inner.GetCompressionProvider(context);

    public bool CheckRequestAcceptsCompression(HttpContext context) => _inner.CheckRequestAcceptsCompression(context);

    public bool ShouldCompressResponse(HttpContext context)
    {
        var response = context.Response;
        return response.StatusCode is >= 200 and < 300
            && (response.ContentLength is not { } length || length >= _minimumBytes)
            && _inner.ShouldCompressResponse(context);
    }
}
