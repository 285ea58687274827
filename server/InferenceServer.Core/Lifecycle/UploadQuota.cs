namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// The bytes of uploaded model files the upload folder holds, over every upload alive, against
/// <see cref="ModelLifecycleOptions.ModelUploadMaxTotalBytes"/>: a file's bytes are reserved before it is written and
/// given back when its upload's folder is deleted.
/// </summary>
internal sealed class UploadQuota(long limit)
{
    private long _used;

    /// <summary>The most bytes the uploads may hold together.</summary>
    public long Limit => limit;

    /// <summary>The bytes reserved now.</summary>
    public long Used => Volatile.Read(ref _used);

    /// <summary>Reserves <paramref name="bytes"/>; false (nothing reserved) when that would pass the limit.</summary>
    public bool TryReserve(long bytes)
    {
        var used = Volatile.Read(ref _used);
        while (true)
        {
            if (bytes > limit - used)
            {
                return false;
            }
            var seen = Interlocked.CompareExchange(ref _used, used + bytes, used);
            if (seen == used)
            {
                return true;
            }
            used = seen;
        }
    }

    /// <summary>Gives back bytes reserved earlier.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);
}
