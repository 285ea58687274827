namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>A store that cannot be opened, read or written; the message names the store and what went wrong.</summary>
internal sealed class StoreException : Exception
{
    public StoreException(string message)
        : base(message)
    {
    }

    public StoreException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
