using Grpc.Core;

namespace InferenceServer.LoadTest.Targets;

/// <summary>
/// A gRPC message that is received but never looked at: its marshaller does not even copy it out of the call's
/// buffers, which is all a load generator needs of a response (and the trivial endpoint of a request).
/// </summary>
internal sealed class UnreadMessage
{
    public static readonly UnreadMessage Instance = new();

    public static readonly Marshaller<UnreadMessage> Marshaller = new(
        static (_, context) => context.Complete([]),
        static _ => Instance);

    private UnreadMessage()
    {
    }
}
