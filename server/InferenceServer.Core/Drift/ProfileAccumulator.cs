using System.Runtime.InteropServices;

namespace InferenceServer.Core.Drift;

/// <summary>
/// One feature's values as a profile is built: for a numeric feature the count, the sum and a uniform reservoir (exact
/// while the values fit in it) that the quantiles come from; for a categorical one the count of each distinct value,
/// up to a cap beyond which new values count as "other". One writer at a time.
/// </summary>
public sealed class ProfileAccumulator
{
    // Distinct values counted one by one at most; a column with more (an id, free text) is not a category anyway.
    private const int MaxDistinct = 10_000;

    private readonly Random _random;
    private readonly double[] _reservoir;
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private long _count;
    private long _missing;
    private double _sum;

    internal ProfileAccumulator(string name, bool numeric, int reservoir, int seed)
    {
        Name = name;
        IsNumeric = numeric;
        _reservoir = numeric ? new double[reservoir] : [];
        _random = new Random(seed);
        _lookup = _counts.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The feature's name.</summary>
    public string Name { get; }

    /// <summary>True for a numeric feature.</summary>
    public bool IsNumeric { get; }

    /// <summary>Values added (missing ones not included).</summary>
    public long Count => _count;

    /// <summary>Adds a number; NaN counts as missing.</summary>
    public void Add(double value)
    {
        if (double.IsNaN(value) || !IsNumeric)
        {
            _missing++;
            return;
        }
        var seen = _count++;
        _sum += value;
        if (seen < _reservoir.Length)
        {
            _reservoir[seen] = value;
        }
        else
        {
            var pick = _random.NextInt64(seen + 1);
            if (pick < _reservoir.Length)
            {
                _reservoir[pick] = value;
            }
        }
    }

    /// <summary>Adds a category (for a numeric feature: the text parsed invariantly, or missing).</summary>
    public void Add(ReadOnlySpan<char> value)
    {
        if (IsNumeric)
        {
            Add(double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number) ? number : double.NaN);
            return;
        }
        _count++;
        ref var count = ref CollectionsMarshal.GetValueRefOrNullRef(_lookup, value);
        if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref count))
        {
            count++;
        }
        else if (_counts.Count < MaxDistinct)
        {
            _lookup[value] = 1;
        }
        // Beyond the cap a new value is only counted: it can never be among the most frequent, so it lands in "other".
    }

    /// <summary>Counts a row without a value.</summary>
    public void AddMissing() => _missing++;

    /// <summary>The feature's profile: <paramref name="bins"/> quantile bins, or the <paramref name="maxCategories"/> most frequent values.</summary>
    internal ProfiledFeature Build(int bins, int maxCategories) => IsNumeric ? BuildNumeric(bins) : BuildCategorical(maxCategories);

    private ProfiledFeature BuildNumeric(int bins)
    {
        var kept = (int)Math.Min(_count, _reservoir.Length);
        var values = _reservoir.AsSpan(0, kept);
        values.Sort();
        var quantiles = new double[101];
        for (var k = 0; k < quantiles.Length; k++)
        {
            quantiles[k] = Quantile(values, k / 100.0);
        }
        // Decile cuts (for 10 bins); a value many rows share makes several equal, and equal cuts are one bin edge.
        var edges = new List<double>(bins - 1);
        for (var b = 1; b < bins; b++)
        {
            var cut = Quantile(values, b / (double)bins);
            if (edges.Count == 0 || cut > edges[^1])
            {
                edges.Add(cut);
            }
        }
        var edgeArray = kept == 0 ? [] : edges.ToArray();
        var proportions = new double[edgeArray.Length + 1];
        foreach (var value in values)
        {
            proportions[DriftStatistics.Bin(edgeArray, value)]++;
        }
        for (var i = 0; i < proportions.Length; i++)
        {
            proportions[i] = kept == 0 ? 0 : proportions[i] / kept;
        }
        return new ProfiledFeature
        {
            Name = Name,
            Kind = ProfiledFeature.NumericKind,
            Count = _count,
            Missing = _missing,
            Edges = edgeArray,
            Proportions = proportions,
            Quantiles = quantiles,
            Mean = _count == 0 ? 0 : _sum / _count,
        };
    }

    private ProfiledFeature BuildCategorical(int maxCategories)
    {
        var ordered = new List<KeyValuePair<string, long>>(_counts);
        ordered.Sort(static (a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : string.CompareOrdinal(a.Key, b.Key));
        var take = Math.Min(maxCategories, ordered.Count);
        var categories = new string[take];
        var proportions = new double[take + 1];
        long listed = 0;
        for (var i = 0; i < take; i++)
        {
            categories[i] = ordered[i].Key;
            proportions[i] = _count == 0 ? 0 : ordered[i].Value / (double)_count;
            listed += ordered[i].Value;
        }
        proportions[take] = _count == 0 ? 0 : (_count - listed) / (double)_count;
        return new ProfiledFeature
        {
            Name = Name,
            Kind = ProfiledFeature.CategoricalKind,
            Count = _count,
            Missing = _missing,
            Categories = categories,
            Proportions = proportions,
        };
    }

    // Linear between the two nearest order statistics (the usual "type 7" definition).
    private static double Quantile(ReadOnlySpan<double> sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }
        var position = p * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
