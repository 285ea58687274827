using InferenceServer.Core.Inference;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// A fresh folder holding model files uploaded with a repository-API load (Triton's
/// <c>file:&lt;version&gt;/&lt;name&gt;</c> parameters), deleted once nothing loaded from it is alive:
/// the load holds one reference while it runs and every version loaded from it holds one until it is
/// unloaded (new instances of a resized version are created from these files).
/// </summary>
internal sealed class UploadedModelFolder
{
    private readonly string _root;
    private int _references = 1;

    private UploadedModelFolder(string root, string modelPath)
    {
        _root = root;
        ModelPath = modelPath;
    }

    /// <summary>The model folder (its name is the model's name) to scan and load from.</summary>
    public string ModelPath { get; }

    /// <summary>
    /// Checks every path, then writes the files under a new folder in <paramref name="parent"/>.
    /// Throws <see cref="InferenceException"/> (InvalidArgument) naming the first path that is not a
    /// plain relative path inside the model folder.
    /// </summary>
    public static UploadedModelFolder Create(string parent, string modelName, IReadOnlyDictionary<string, ReadOnlyMemory<byte>> files)
    {
        foreach (var path in files.Keys)
        {
            ValidateRelativePath(path);
        }
        var root = Path.Combine(parent, UploadFolders.NewName());
        var modelPath = Path.Combine(root, modelName);
        Directory.CreateDirectory(modelPath);
        var folder = new UploadedModelFolder(root, modelPath);
        try
        {
            foreach (var (relative, content) in files)
            {
                var target = Path.Combine(modelPath, Path.Combine(relative.Split('/')));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                using var stream = new FileStream(target, FileMode.CreateNew, FileAccess.Write);
                stream.Write(content.Span);
            }
        }
        catch
        {
            folder.Release();
            throw;
        }
        return folder;
    }

    /// <summary>
    /// Throws unless <paramref name="path"/> is a relative path that stays inside the model folder:
    /// forward slashes only, no empty, "." or ".." segment, not absolute, no control characters.
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
        else if (path.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0 || path.Contains('\u007f', StringComparison.Ordinal))
        {
            problem = "contains a control character";
        }
        else if (path.Length >= 2 && path[1] == ':' && char.IsAsciiLetter(path[0]))
        {
            problem = "starts with a drive letter";
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
            }
        }
        if (problem is not null)
        {
            throw InferenceException.Invalid($"file path '{path}' {problem}: model files must be given as 'file:<version>/<name>' inside the model folder");
        }
    }

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
        }
    }

    private sealed class Reference(UploadedModelFolder folder) : IDisposable
    {
        private UploadedModelFolder? _folder = folder;

        public void Dispose() => Interlocked.Exchange(ref _folder, null)?.Release();
    }
}
