using System.Globalization;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace InferenceServer.LoadTest.Scenarios;

/// <summary>
/// A file of named scenarios, YAML or JSON (by extension; <c>.json</c> is JSON, anything else YAML):
/// <code>
/// defaults: { url: http://127.0.0.1:8000, model: income, protocol: rest-binary }
/// scenarios:
///   - name: steady
///     rate: 500
///     sla: "p99&lt;20ms,errors&lt;0.1%"
///   - name: ramp
///     stages: [ "10s:100", "20s:500" ]
/// </code>
/// Keys are the command line's flag names without dashes (underscores also accepted); a list value is joined with
/// commas, so <c>sla</c> and <c>stages</c> may be lists. <c>scenarios</c> may also be a map from name to settings.
/// </summary>
internal sealed record ScenarioFile(IReadOnlyDictionary<string, string> Defaults, IReadOnlyList<Scenario> Scenarios)
{
    public static ScenarioFile Load(string path)
    {
        var text = File.ReadAllText(path);
        object? root;
        try
        {
            root = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? FromJson(text) : new DeserializerBuilder().Build().Deserialize<object>(text);
        }
        catch (YamlException e)
        {
            throw new FormatException($"{path}: not valid YAML at line {e.Start.Line}: {e.InnerException?.Message ?? e.Message}");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not valid JSON: {e.Message}");
        }
        return Parse(root, path);
    }

    /// <summary>Reads the document once deserialized into maps, lists and strings.</summary>
    public static ScenarioFile Parse(object? root, string source)
    {
        if (root is not IDictionary<object, object> top)
        {
            throw new FormatException($"{source}: the top level is a map with 'scenarios' (and optional 'defaults')");
        }
        foreach (var key in top.Keys)
        {
            if (key?.ToString() is not ("defaults" or "scenarios"))
            {
                throw new FormatException($"{source}: unknown top-level key '{key}' (expected 'defaults' and 'scenarios')");
            }
        }
        var defaults = top.TryGetValue("defaults", out var d) && d is not null ? Settings(d, source, "defaults") : new Dictionary<string, string>();
        var scenarios = new List<Scenario>();
        switch (top.TryGetValue("scenarios", out var s) ? s : null)
        {
            case IList<object> list:
                foreach (var item in list)
                {
                    var settings = Settings(item, source, $"scenario {scenarios.Count + 1}");
                    if (!settings.Remove("name", out var name) || string.IsNullOrWhiteSpace(name))
                    {
                        throw new FormatException($"{source}: scenario {scenarios.Count + 1} has no 'name'");
                    }
                    scenarios.Add(new Scenario(name, settings));
                }
                break;
            case IDictionary<object, object> map:
                foreach (var (name, item) in map)
                {
                    scenarios.Add(new Scenario(name.ToString()!, item is null ? new Dictionary<string, string>() : Settings(item, source, $"scenario '{name}'")));
                }
                break;
            default:
                throw new FormatException($"{source}: 'scenarios' is missing or is neither a list nor a map");
        }
        if (scenarios.Count == 0)
        {
            throw new FormatException($"{source}: no scenarios");
        }
        var duplicate = scenarios.GroupBy(x => x.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new FormatException($"{source}: two scenarios are named '{duplicate.Key}'");
        }
        return new ScenarioFile(defaults, scenarios);
    }

    private static Dictionary<string, string> Settings(object node, string source, string where)
    {
        if (node is not IDictionary<object, object> map)
        {
            throw new FormatException($"{source}: {where} is not a map of settings");
        }
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in map)
        {
            var name = key.ToString()!.Replace('_', '-').TrimStart('-');
            settings[name] = value switch
            {
                null => throw new FormatException($"{source}: {where}: '{name}' has no value"),
                IList<object> items => string.Join(',', items.Select(i => Convert.ToString(i, CultureInfo.InvariantCulture))),
                IDictionary<object, object> => throw new FormatException($"{source}: {where}: '{name}' is a map; settings are single values or lists"),
                _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
            };
        }
        return settings;
    }

    // JSON mapped onto the same shapes the YAML deserializer produces.
    private static object? FromJson(string text)
    {
        using var document = JsonDocument.Parse(text);
        return Convert(document.RootElement);

        static object? Convert(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => (object)p.Name, p => Convert(p.Value)!),
            JsonValueKind.Array => e.EnumerateArray().Select(i => Convert(i)!).ToList(),
            JsonValueKind.String => e.GetString(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Null => null,
            _ => e.GetRawText(),
        };
    }
}
