
namespace InferenceServer.Core.Repository;

/// <summary>Reads Triton's <c>config.pbtxt</c> (protobuf text format) into a <see cref="ModelConfig"/>.</summary>
internal static class ModelConfigReader
{
    /// <summary>Parses and validates config text.</summary>
    /// <param name="text">The file's contents.</param>
    /// <param name="fileName">Used only in messages, e.g. <c>simple/config.pbtxt</c>.</param>
    /// <exception cref="ModelConfigException">
    /// Syntax error, wrong value type, failed validation, or a feature this server does not implement. The message
    /// ends with the unknown fields ignored before the failure, since a misspelt field is its likeliest cause.
    /// </exception>
    /// <param name="limits">The server's bounds on what a config may ask for; none when null.</param>
    public static ModelConfigReadResult Parse(string text, string fileName = "config.pbtxt", ModelConfigLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        var config = new ModelConfig();
        var reader = ConfigTextReader.ReadText(text, fileName, config);
        return ModelConfigReadResult.Validate(config, fileName, reader.Positions, reader.Warnings, limits);
    }

    /// <summary>
    /// Reads, parses and validates a config file. Messages name it as <paramref name="displayName"/>, by default its
    /// model folder and file name (<c>simple/config.pbtxt</c>, see <see cref="ModelConfigLocation.DisplayName"/>): they
    /// reach clients, which have no business with the server's paths.
    /// </summary>
    /// <exception cref="ModelConfigException">As <see cref="Parse"/>.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static ModelConfigReadResult ReadFile(string path, string? displayName = null, ModelConfigLimits? limits = null) =>
        Parse(File.ReadAllText(path), displayName ?? ModelConfigLocation.DisplayName(path), limits);

    /// <inheritdoc cref="ReadFile(string, string, ModelConfigLimits)"/>
    public static async Task<ModelConfigReadResult> ReadFileAsync(string path, string? displayName = null, CancellationToken cancellationToken = default) =>
        Parse(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), displayName ?? ModelConfigLocation.DisplayName(path));
}
