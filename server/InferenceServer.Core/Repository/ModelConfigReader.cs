using InferenceServer.Core.Repository.TextFormat;

namespace InferenceServer.Core.Repository;

/// <summary>Reads Triton's <c>config.pbtxt</c> (protobuf text format) into a <see cref="ModelConfig"/>.</summary>
public static class ModelConfigReader
{
    /// <summary>Parses and validates config text.</summary>
    /// <param name="text">The file's contents.</param>
    /// <param name="fileName">Used only in messages, e.g. <c>models/simple/config.pbtxt</c>.</param>
    /// <exception cref="ModelConfigException">Syntax error, wrong value type, or failed validation.</exception>
    public static ModelConfigReadResult Parse(string text, string fileName = "config.pbtxt")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        TextMessage root;
        try
        {
            root = TextParser.Parse(text, fileName);
        }
        catch (TextFormatException e)
        {
            throw new ModelConfigException(e.FileName, e.Line, e.Column, fieldPath: null, e.Reason, e);
        }
        var reader = new ModelConfigTreeReader(fileName);
        var config = reader.Read(root);
        return new ModelConfigReadResult { Config = config, Warnings = reader.Warnings };
    }

    /// <summary>
    /// Reads, parses and validates a config file; messages name <paramref name="displayName"/> when given (e.g.
    /// <c>income/config.pbtxt</c>, so a message sent to a client holds no server path), else the path as given.
    /// </summary>
    /// <exception cref="ModelConfigException">Syntax error, wrong value type, or failed validation.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static ModelConfigReadResult ReadFile(string path, string? displayName = null) => Parse(File.ReadAllText(path), displayName ?? path);

    /// <summary>Reads, parses and validates a config file; messages name the path as given.</summary>
    /// <exception cref="ModelConfigException">Syntax error, wrong value type, or failed validation.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static async Task<ModelConfigReadResult> ReadFileAsync(string path, CancellationToken cancellationToken = default) =>
        Parse(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), path);
}
