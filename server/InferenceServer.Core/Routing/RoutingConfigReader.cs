using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing.Config;

namespace InferenceServer.Core.Routing;

/// <summary>
/// Reads a <c>routing.pbtxt</c> (protobuf text format, the schema in <c>Routing/Protos/routing.proto</c>) into a
/// checked <see cref="RouteDeclaration"/>, by the same descriptor walk that reads config.pbtxt, so its errors read the
/// same way: <c>route/routing.pbtxt:line:column: field: reason</c>.
/// </summary>
internal static class RoutingConfigReader
{
    /// <summary>The header that forces a variant and names the one that answered, unless the route names another.</summary>
    public const string DefaultVariantHeader = "x-variant";

    /// <summary>The request parameter a sticky route reads its key from, unless it names another.</summary>
    public const string DefaultKeyParameter = "routing_key";

    /// <summary>Parses and checks the declaration of route <paramref name="name"/>.</summary>
    /// <param name="text">The file's contents.</param>
    /// <param name="name">The route's name: the folder the file is in.</param>
    /// <param name="besideModel">True when the folder also holds a model (config.pbtxt or version folders).</param>
    /// <exception cref="ModelConfigException">A syntax error, a wrong value, or a declaration that cannot route.</exception>
    public static RouteDeclaration Parse(string text, string name, bool besideModel)
    {
        ArgumentNullException.ThrowIfNull(text);
        var fileName = $"{name}/{RouteDeclaration.FileName}";
        var config = new RoutingConfig();
        var reader = ConfigTextReader.ReadText(text, fileName, config);
        if (reader.Warnings.Count > 0)
        {
            // A misspelt field in a route would silently change where traffic goes: refuse it rather than warn. The
            // error is placed at the first one, as a config.pbtxt error is (file:line:column: field: reason), so the
            // reason must not name the file again.
            var first = reader.Warnings[0];
            throw new ModelConfigException(fileName, first.Line, first.Column, first.FieldPath, UnknownFields(reader.Warnings));
        }
        RoutingConfigValidator.Validate(config, name, besideModel, fileName, reader.Positions);
        return new RouteDeclaration(name, config, besideModel);
    }

    // The reason for the first unknown field (the error's place names it), then any others by line:column in the same file.
    private static string UnknownFields(IReadOnlyList<ModelConfigWarning> unknown)
    {
        var reason = $"unknown field{DidYouMean(unknown[0].Suggestion)}";
        if (unknown.Count > 1)
        {
            var others = new List<string>(unknown.Count - 1);
            for (var i = 1; i < unknown.Count; i++)
            {
                var field = unknown[i];
                others.Add($"'{field.FieldPath}' at {field.Line}:{field.Column}{DidYouMean(field.Suggestion)}");
            }
            reason += $"; also unknown: {string.Join(", ", others)}";
        }
        return $"{reason}; a route refuses fields it does not know";
    }

    private static string DidYouMean(string? suggestion) => suggestion is null ? "" : $" (did you mean '{suggestion}'?)";
}
