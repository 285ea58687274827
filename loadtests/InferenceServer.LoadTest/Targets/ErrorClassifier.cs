using System.Net.Sockets;

namespace InferenceServer.LoadTest.Targets;

/// <summary>Sorts an exception thrown by a request into an error kind.</summary>
internal static class ErrorClassifier
{
    /// <param name="exception">What the request threw.</param>
    /// <param name="timedOut">Whether the request's own timeout fired (a cancellation is then a timeout).</param>
    public static ErrorKey Classify(Exception exception, bool timedOut)
    {
        if (timedOut && exception is OperationCanceledException)
        {
            return ErrorKey.Timeout;
        }
        return exception switch
        {
            HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse or HttpRequestError.ConfigurationLimitExceeded or HttpRequestError.UserAuthenticationError } => ErrorKey.Other,
            HttpRequestException => ErrorKey.Connection,
            IOException or SocketException => ErrorKey.Connection,
            TimeoutException => ErrorKey.Timeout,
            _ => ErrorKey.Other,
        };
    }
}
