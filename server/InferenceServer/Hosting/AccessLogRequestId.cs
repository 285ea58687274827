using Microsoft.AspNetCore.HttpLogging;

namespace InferenceServer.Hosting;

/// <summary>
/// Adds the request id to each access-log line: ASP.NET's <c>TraceIdentifier</c> (<c>&lt;connection id&gt;:&lt;request
/// number&gt;</c>), unique per request and the same <c>RequestId</c> every other log line of the request carries in its scope.
/// </summary>
internal sealed class AccessLogRequestId : IHttpLoggingInterceptor
{
    public ValueTask OnRequestAsync(HttpLoggingInterceptorContext logContext)
    {
        logContext.AddParameter("RequestId", logContext.HttpContext.TraceIdentifier);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnResponseAsync(HttpLoggingInterceptorContext logContext) => ValueTask.CompletedTask;
}
