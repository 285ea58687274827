using System.Globalization;
using System.Text;
using Prometheus;

namespace InferenceServer.UnitTests.Monitoring;

/// <summary>
/// One scrape of a registry in the text format, read back line by line: each family's type and its samples by
/// name and label text (<c>model="m",version="2"</c>, in the order written).
/// </summary>
internal sealed class Scrape
{
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _samples = new(StringComparer.Ordinal);

    private Scrape(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                _types.Add(parts[2], parts[3]);
            }
            else if (!line.StartsWith('#'))
            {
                var space = line.LastIndexOf(' ');
                _samples.Add(line[..space], double.Parse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture));
            }
        }
    }

    public string Text { get; }

    public static async Task<Scrape> TakeAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return new Scrape(Encoding.UTF8.GetString(stream.ToArray()));
    }

    public string? Type(string family) => _types.GetValueOrDefault(family);

    /// <summary>The value of sample <paramref name="name"/> with exactly <paramref name="labels"/>, or null when absent.</summary>
    public double? Value(string name, string labels = "") =>
        _samples.TryGetValue(labels.Length == 0 ? name : $"{name}{{{labels}}}", out var value) ? value : null;

    /// <summary>Every sample of <paramref name="name"/>, keyed by its label text.</summary>
    public IReadOnlyDictionary<string, double> Series(string name)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in _samples)
        {
            if (key == name)
            {
                series.Add("", value);
            }
            else if (key.StartsWith(name + "{", StringComparison.Ordinal))
            {
                series.Add(key[(name.Length + 1)..^1], value);
            }
        }
        return series;
    }
}
