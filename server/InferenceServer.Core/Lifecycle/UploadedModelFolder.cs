using System.Text;
using InferenceServer.Core.Inference;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// A fresh folder holding model files uploaded with a repository-API load (Triton's
/// <c>file:&lt;version&gt;/&lt;name&gt;</c> parameters), written file by file as the request is read, and deleted once
/// nothing loaded from it is alive: the upload holds one reference until the load is done, and every version loaded
/// from it holds one until it is unloaded (new instances of a resized version are created from these files).
/// </summary>
/// <remarks>
/// Each file goes to disk as the protocol decodes it, in small pieces: the request's copy of the bytes is the only one in
/// memory. Every path is checked before anything is written, and the bytes against the per-load and the total limits.
/// </remarks>
internal sealed class UploadedModelFolder
{
    // The longest file or folder name the common file systems (ext4, xfs, NTFS) allow, and a path well within PATH_MAX
    // once under the upload folder.
    private const int MaxSegmentBytes = 255;
    private const int MaxPathBytes = 1024;

    private readonly string _root;
    private readonly string _parent;
    private readonly long _maxBytes;
    private readonly UploadQuota _quota;
    private readonly Dictionary<string, string> _folders = new(StringComparer.Ordinal);
    private readonly HashSet<string> _files = new(StringComparer.Ordinal);
    private long _bytes;
    private int _references = 1;

    private UploadedModelFolder(string parent, string root, string modelPath, long maxBytes, UploadQuota quota)
    {
        _parent = parent;
        _root = root;
        _maxBytes = maxBytes;
        _quota = quota;
        ModelPath = modelPath;
    }

    /// <summary>The model folder (its name is the model's name) to scan and load from.</summary>
    public string ModelPath { get; }

    /// <summary>How many files were written.</summary>
    public int FileCount => _files.Count;

    /// <summary>
    /// Creates an empty model folder named <paramref name="modelName"/> (a checked name) under a new folder in
    /// <paramref name="parent"/>; its files may come to at most <paramref name="maxBytes"/>, and to what
    /// <paramref name="quota"/> has left. Unavailable (naming no server path) when the folder cannot be made.
    /// </summary>
    public static UploadedModelFolder Create(string parent, string modelName, long maxBytes, UploadQuota quota)
    {
        var root = Path.Combine(parent, UploadFolders.NewName());
        var modelPath = Path.Combine(root, modelName);
        var folder = new UploadedModelFolder(parent, root, modelPath, maxBytes, quota);
        try
        {
            Directory.CreateDirectory(modelPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            folder.Release();
            throw folder.CannotWrite(e);
        }
        return folder;
    }

    /// <summary>Writes the file at <paramref name="relativePath"/> with <paramref name="content"/>.</summary>
    /// <exception cref="InferenceException">As <see cref="CreateFile"/>.</exception>
    public void AddFile(string relativePath, ReadOnlySpan<byte> content)
    {
        using var file = CreateFile(relativePath, content.Length);
        file.Write(content);
    }

    /// <summary>
    /// Checks <paramref name="relativePath"/> and <paramref name="length"/> bytes against the limits, reserves them, and
    /// creates the file for the caller to write (its space allocated up front, so a full disk fails here rather than
    /// halfway through).
    /// </summary>
    /// <exception cref="InferenceException">InvalidArgument for a bad or conflicting path; TooLarge past a limit; Unavailable when the disk refuses it.</exception>
    public ModelUploadFile CreateFile(string relativePath, long length)
    {
        ValidateRelativePath(relativePath);
        CheckConflicts(relativePath);
        if (length > _maxBytes - _bytes)
        {
            throw new InferenceException(InferenceErrorKind.TooLarge,
                $"file '{relativePath}' ({length} bytes) takes the uploaded files past {_maxBytes} bytes, the most one load may upload (--model-upload-max-bytes)");
        }
        if (!_quota.TryReserve(length))
        {
            throw new InferenceException(InferenceErrorKind.TooLarge,
                $"file '{relativePath}' ({length} bytes) does not fit: the uploaded models hold {_quota.Used} of the {_quota.Limit} bytes allowed (--model-upload-max-total-bytes); unload models loaded from uploads first");
        }
        _bytes += length;
        Remember(relativePath);
        var target = Path.Combine(ModelPath, Path.Combine(relativePath.Split('/')));
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var stream = new FileStream(target, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, PreallocationSize = length });
            return new ModelUploadFile(stream, relativePath, length, CannotWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CannotWrite(e);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw ModelUploadFile.TooLargeToWrite(relativePath, length);
        }
    }

    // The reason goes to the client: it names the folder as "the upload folder", not by its server path.
    private InferenceException CannotWrite(Exception e)
    {
        var reason = e.Message.Replace(Path.GetFullPath(_parent), "<upload folder>", StringComparison.Ordinal).Replace(_parent, "<upload folder>", StringComparison.Ordinal);
        return new InferenceException(InferenceErrorKind.Unavailable, $"the uploaded files cannot be written: {reason}");
    }

    // A path names a file; its leading segments name folders. One name cannot be both, nor a file twice.
    private void CheckConflicts(string path)
    {
        if (_files.Contains(path))
        {
            throw InferenceException.Invalid($"file path '{path}' is given more than once");
        }
        if (_folders.TryGetValue(path, out var inside))
        {
            throw InferenceException.Invalid($"file paths '{path}' and '{inside}' conflict: '{path}' cannot be both a file and a folder");
        }
        for (var slash = path.IndexOf('/', StringComparison.Ordinal); slash >= 0; slash = path.IndexOf('/', slash + 1))
        {
            var folder = path[..slash];
            if (_files.Contains(folder))
            {
                throw InferenceException.Invalid($"file paths '{folder}' and '{path}' conflict: '{folder}' cannot be both a file and a folder");
            }
        }
    }

    private void Remember(string path)
    {
        _files.Add(path);
        for (var slash = path.IndexOf('/', StringComparison.Ordinal); slash >= 0; slash = path.IndexOf('/', slash + 1))
        {
            _folders.TryAdd(path[..slash], path);
        }
    }

    /// <summary>
    /// Throws unless <paramref name="path"/> is a relative path that stays inside the model folder:
    /// forward slashes only, no empty, "." or ".." segment, not absolute, no control characters, and names the file
    /// system can hold.
    /// </summary>
    public static void ValidateRelativePath(string path)
    {
        string? problem = null;
        if (path.Length == 0)
        {
            problem = "is empty";
        }
        else if (path[0] == '/')
        {
            problem = "is absolute";
        }
        else if (path.Contains('\\', StringComparison.Ordinal))
        {
            problem = "contains a backslash (use '/' between folders)";
        }
        else if (path.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0 || path.AsSpan().IndexOfAnyInRange('\u007f', '\u009f') >= 0)
        {
            problem = "contains a control character";
        }
        else if (path.Length >= 2 && path[1] == ':' && char.IsAsciiLetter(path[0]))
        {
            problem = "starts with a drive letter";
        }
        else if (Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
        {
            problem = $"is longer than {MaxPathBytes} bytes";
        }
        else
        {
            foreach (var segment in path.Split('/'))
            {
                if (segment.Length == 0)
                {
                    problem = "has an empty segment";
                    break;
                }
                if (segment is "." or "..")
                {
                    problem = $"has a '{segment}' segment";
                    break;
                }
                if (Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes)
                {
                    problem = $"has a name longer than {MaxSegmentBytes} bytes";
                    break;
                }
            }
        }
        if (problem is not null)
        {
            throw InferenceException.Invalid($"file path '{Shorten(path)}' {problem}: model files must be given as 'file:<version>/<name>' inside the model folder");
        }
    }

    // A message quotes at most the start of a very long path: enough to find it, not kilobytes of it.
    private static string Shorten(string path) => path.Length <= 80 ? path : string.Concat(path.AsSpan(0, 77), "...");

    /// <summary>Takes one more reference, released by disposing the result.</summary>
    public IDisposable Acquire()
    {
        Interlocked.Increment(ref _references);
        return new Reference(this);
    }

    /// <summary>Drops the creator's reference.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover temporary folder is harmless.
            }
            _quota.Release(Interlocked.Exchange(ref _bytes, 0));
        }
    }

    private sealed class Reference(UploadedModelFolder folder) : IDisposable
    {
        private UploadedModelFolder? _folder = folder;

        public void Dispose() => Interlocked.Exchange(ref _folder, null)?.Release();
    }
}
