using InferenceServer.Core.Features;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Drift;

/// <summary>
/// Sampled values of every profiled feature and prediction, one fixed array per feature, and the report that compares
/// them with the profile. A row's values go to one slot in every feature's array (so a row stays a row); which slot
/// is the subclass's choice: the live window's ring (<see cref="DriftWindow"/>) or a file's reservoir
/// (<see cref="DriftBatch"/>). Recording allocates nothing.
/// </summary>
public abstract class DriftSamples
{
    private readonly double[][] _features;
    private readonly double[][] _predictions;

    private protected DriftSamples(DriftPlan plan, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Plan = plan;
        Capacity = capacity;
        _features = NewArrays(plan.Features.Length, capacity);
        _predictions = NewArrays(plan.Predictions.Length, capacity);
    }

    /// <summary>The most rows kept per feature.</summary>
    public int Capacity { get; }

    /// <summary>Rows whose features were offered so far.</summary>
    public abstract long FeatureRowsSeen { get; }

    /// <summary>Rows whose predictions were offered so far.</summary>
    public abstract long PredictionRowsSeen { get; }

    internal DriftPlan Plan { get; }

    /// <summary>The training profile compared against.</summary>
    public TrainingProfile Profile => Plan.Profile;

    /// <summary>
    /// The slots of the next <paramref name="slots"/>.Length feature rows (or prediction rows), -1 for a row not kept.
    /// </summary>
    private protected abstract void Reserve(Span<int> slots, bool predictions);

    /// <summary>The number of slots in use (those beyond were never written).</summary>
    private protected abstract int Filled(bool predictions);

    /// <summary>Records the raw features of <paramref name="rows"/> (view level), at most <paramref name="maxRows"/> of them.</summary>
    public void RecordRows(FeatureRows rows, int maxRows = int.MaxValue)
    {
        var columns = Plan.Features;
        if (columns.Length == 0 || !Plan.ViewLevel)
        {
            return;
        }
        if (Plan.View is { } view && !ReferenceEquals(rows.View, view) && !view.SameAs(rows.View))
        {
            throw new ArgumentException($"the rows are of feature view '{rows.View.Name}' as it is now; the profile was compiled for view '{view.Name}' as it was", nameof(rows));
        }
        var count = Math.Min(rows.Count, maxRows);
        Span<int> slots = count <= 256 ? stackalloc int[count] : new int[count];
        Reserve(slots, predictions: false);
        for (var c = 0; c < columns.Length; c++)
        {
            var column = columns[c];
            var values = _features[c];
            for (var row = 0; row < count; row++)
            {
                if (slots[row] >= 0)
                {
                    values[slots[row]] = column.Value(rows, row);
                }
            }
        }
    }

    /// <summary>
    /// Records the raw features of <paramref name="rows"/> of a file's <paramref name="batch"/> (view level): each
    /// profiled field from the column of its name, a cell as a request would have sent it; a field the batch lacks is
    /// missing.
    /// </summary>
    public void RecordCells(Scoring.RecordBatch batch, IReadOnlyList<int> rows)
    {
        var columns = Plan.Features;
        if (columns.Length == 0 || !Plan.ViewLevel || rows.Count == 0)
        {
            return;
        }
        var slots = new int[rows.Count];
        Reserve(slots, predictions: false);
        Span<char> formatted = stackalloc char[32];
        for (var c = 0; c < columns.Length; c++)
        {
            var column = columns[c];
            var index = IndexOf(batch.Columns, column.Profile.Name);
            var values = _features[c];
            for (var i = 0; i < rows.Count; i++)
            {
                if (slots[i] < 0)
                {
                    continue;
                }
                var row = rows[i];
                var value = double.NaN;
                if (index >= 0)
                {
                    if (batch.Cells.TryGetNumber(index, row, out var number))
                    {
                        value = column.IsNumeric ? number : FormattedCategory(column, number, formatted);
                    }
                    else if (batch.Cells.TryGetText(index, row, out var text))
                    {
                        value = !column.IsNumeric ? column.Category(text)
                            : double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : double.NaN;
                    }
                }
                values[slots[i]] = value;
            }
        }
    }

    private static double FormattedCategory(DriftColumn column, double number, Span<char> buffer)
    {
        number.TryFormat(buffer, out var written, "R", System.Globalization.CultureInfo.InvariantCulture);
        return column.Category(buffer[..written]);
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Records the columns of the input <paramref name="tensors"/> (tensor level), at most <paramref name="maxRows"/> rows.</summary>
    public void RecordInputs(IReadOnlyList<Tensor> tensors, bool batched, int maxRows = int.MaxValue)
    {
        if (Plan.Features.Length > 0 && !Plan.ViewLevel)
        {
            RecordTensors(Plan.Features, _features, tensors, batched, maxRows, predictions: false);
        }
    }

    /// <summary>Records the columns of the output <paramref name="tensors"/>, at most <paramref name="maxRows"/> rows.</summary>
    public void RecordOutputs(IReadOnlyList<Tensor> tensors, bool batched, int maxRows = int.MaxValue)
    {
        if (Plan.Predictions.Length > 0)
        {
            RecordTensors(Plan.Predictions, _predictions, tensors, batched, maxRows, predictions: true);
        }
    }

    private void RecordTensors(DriftColumn[] columns, double[][] arrays, IReadOnlyList<Tensor> tensors, bool batched, int maxRows, bool predictions)
    {
        // Every tensor of one request has the same batch dimension; the first one found sets the row count.
        var rows = -1;
        for (var t = 0; t < tensors.Count && rows < 0; t++)
        {
            var shape = tensors[t].Shape;
            rows = batched && shape.Length > 0 ? (int)shape[0] : 1;
        }
        if (rows <= 0)
        {
            return;
        }
        var count = Math.Min(rows, maxRows);
        Span<int> slots = count <= 256 ? stackalloc int[count] : new int[count];
        Reserve(slots, predictions);
        for (var c = 0; c < columns.Length; c++)
        {
            var column = columns[c];
            var tensor = Find(tensors, column.Tensor);
            var width = tensor is null ? 0 : (int)(tensor.ElementCount / rows);
            var values = arrays[c];
            for (var row = 0; row < count; row++)
            {
                if (slots[row] >= 0)
                {
                    // A tensor the request lacks, or a column beyond its width, is missing.
                    values[slots[row]] = tensor is not null && column.Column < width && tensor.DataType != DataType.Bytes
                        ? column.Value(tensor, row, width)
                        : double.NaN;
                }
            }
        }
    }

    /// <summary>Compares what was recorded with the profile.</summary>
    public DriftReport Report(string model, string version, string source, double sampleRate)
    {
        var features = Compare(Plan.Features, _features, Filled(predictions: false));
        var predictions = Compare(Plan.Predictions, _predictions, Filled(predictions: true));
        var drift = "none";
        foreach (var feature in features)
        {
            drift = DriftReport.Worse(drift, feature.Drift);
        }
        foreach (var prediction in predictions)
        {
            drift = DriftReport.Worse(drift, prediction.Drift);
        }
        return new DriftReport
        {
            Model = model,
            Version = version,
            Source = source,
            Profile = Plan.ProfilePath,
            Level = Plan.Profile.Level,
            SampleRate = sampleRate,
            WindowSize = Capacity,
            RowsSampled = Math.Max(FeatureRowsSeen, PredictionRowsSeen),
            Drift = drift,
            Features = features,
            Predictions = predictions,
        };
    }

    private static FeatureDrift[] Compare(DriftColumn[] columns, double[][] arrays, int filled)
    {
        var result = new FeatureDrift[columns.Length];
        var values = new double[filled];
        for (var c = 0; c < columns.Length; c++)
        {
            // A copy: writers keep writing while the report reads.
            arrays[c].AsSpan(0, filled).CopyTo(values);
            result[c] = Compare(columns[c].Profile, values);
        }
        return result;
    }

    /// <summary>Compares <paramref name="values"/> (numbers, or category indices; NaN: missing) with <paramref name="profile"/>; sorts them in place.</summary>
    internal static FeatureDrift Compare(ProfiledFeature profile, double[] values)
    {
        var n = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (!double.IsNaN(values[i]))
            {
                values[n++] = values[i];
            }
        }
        var present = values.AsSpan(0, n);
        var counts = new double[profile.Proportions.Length];
        if (profile.IsNumeric)
        {
            foreach (var value in present)
            {
                counts[DriftStatistics.Bin(profile.Edges, value)]++;
            }
        }
        else
        {
            foreach (var value in present)
            {
                counts[Math.Clamp((int)value, 0, counts.Length - 1)]++;
            }
        }
        if (n == 0)
        {
            return new FeatureDrift { Name = profile.Name, Kind = profile.Kind, Samples = 0, Drift = "no samples", Proportions = counts };
        }
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] /= n;
        }
        var psi = DriftStatistics.Psi(profile.Proportions, counts);
        double? ks = null;
        if (profile.IsNumeric)
        {
            present.Sort();
            ks = DriftStatistics.Ks(present, profile.Quantiles);
        }
        return new FeatureDrift
        {
            Name = profile.Name,
            Kind = profile.Kind,
            Samples = n,
            Psi = psi,
            Ks = ks,
            Drift = DriftStatistics.Level(psi),
            Proportions = counts,
        };
    }

    private static Tensor? Find(IReadOnlyList<Tensor> tensors, string name)
    {
        for (var i = 0; i < tensors.Count; i++)
        {
            if (tensors[i].Name == name)
            {
                return tensors[i];
            }
        }
        return null;
    }

    private static double[][] NewArrays(int count, int capacity)
    {
        var arrays = new double[count][];
        for (var i = 0; i < count; i++)
        {
            arrays[i] = new double[capacity];
            arrays[i].AsSpan().Fill(double.NaN);
        }
        return arrays;
    }
}
