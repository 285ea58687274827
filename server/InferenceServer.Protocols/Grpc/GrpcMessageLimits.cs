using System.Globalization;
using Grpc.Core;

namespace InferenceServer.Protocols.Grpc;

/// <summary>The message size limits, with errors that say what the limit is.</summary>
internal static class GrpcMessageLimits
{
    /// <summary>RESOURCE_EXHAUSTED, before anything of the message is written, for a response over <paramref name="maxBytes"/>.</summary>
    public static void CheckSend(int size, int maxBytes)
    {
        if (size > maxBytes)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                string.Create(CultureInfo.InvariantCulture, $"Response message of {size} bytes exceeds the limit of {maxBytes} bytes.")));
        }
    }

    /// <summary>The detail of the RESOURCE_EXHAUSTED that ends a call whose request message is over <paramref name="maxBytes"/>.</summary>
    public static string ReceiveLimitExceeded(int maxBytes) =>
        string.Create(CultureInfo.InvariantCulture, $"Received message exceeds the limit of {maxBytes} bytes.");

    /// <summary>The detail of the RESOURCE_EXHAUSTED for a compressed request message that inflates past <paramref name="maxBytes"/>.</summary>
    public static string DecompressedLimitExceeded(int maxBytes) =>
        string.Create(CultureInfo.InvariantCulture, $"Request message decompresses to more than the limit of {maxBytes} bytes.");

    /// <summary>The detail of the RESOURCE_EXHAUSTED for a request message that found no room in the server's body budget.</summary>
    public static string BudgetExhausted(long capacityBytes) =>
        string.Create(CultureInfo.InvariantCulture, $"The server is busy receiving other request messages: they hold its limit of {capacityBytes} bytes (Server:MaxRequestBodyBytesInFlight); retry shortly.");
}
