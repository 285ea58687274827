using System.Buffers;
using System.Globalization;
using System.Text;
using InferenceServer.Core.Features;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Drift;

/// <summary>
/// Builds a <see cref="TrainingProfile"/> from batches: the raw rows of a feature view (<see cref="AddRows"/>) or the
/// input tensors (<see cref="AddInputs"/>), and the model's outputs (<see cref="AddOutputs"/>). Per feature a
/// <see cref="ProfileAccumulator"/> (created on first sight for tensor columns, or by hand with
/// <see cref="Feature"/>); <see cref="Build"/> turns them into quantile bins and category frequencies. Memory is bounded
/// per feature (a reservoir for numbers, a capped count of distinct values), never by the number of rows. One writer.
/// </summary>
public sealed class ProfileBuilder
{
    /// <summary>Numeric features get this many quantile bins.</summary>
    public const int DefaultBins = 10;

    /// <summary>A categorical feature lists at most this many values; the rest are "other".</summary>
    public const int DefaultMaxCategories = 50;

    /// <summary>Numbers kept per feature for the quantiles: exact up to a million rows, a uniform sample beyond.</summary>
    public const int DefaultReservoir = 1_000_000;

    private const int StackTextBytes = 256;

    private readonly List<ProfileAccumulator> _features = [];
    private readonly List<ProfileAccumulator> _predictions = [];
    private readonly Dictionary<string, ProfileAccumulator> _byName = new(StringComparer.Ordinal);
    private readonly int _reservoir;
    private ProfileAccumulator[]? _viewFields;
    private long _rows;

    /// <summary>A builder for <paramref name="model"/> version <paramref name="version"/> at <paramref name="level"/> (<see cref="TrainingProfile.ViewLevel"/> or <see cref="TrainingProfile.TensorLevel"/>).</summary>
    public ProfileBuilder(string model, string version, string level, int reservoir = DefaultReservoir)
    {
        if (level is not (TrainingProfile.ViewLevel or TrainingProfile.TensorLevel))
        {
            throw new ArgumentException($"level '{level}' is not {TrainingProfile.ViewLevel} or {TrainingProfile.TensorLevel}", nameof(level));
        }
        Model = model;
        Version = version;
        Level = level;
        _reservoir = reservoir;
    }

    /// <summary>The model profiled.</summary>
    public string Model { get; }

    /// <summary>The version whose predictions are profiled.</summary>
    public string Version { get; }

    /// <summary>What the features are.</summary>
    public string Level { get; }

    /// <summary>Rows added (by <see cref="AddRows"/> or <see cref="AddInputs"/>).</summary>
    public long Rows => _rows;

    /// <summary>Counts rows whose features were added by hand (through <see cref="Feature"/>).</summary>
    public void CountRows(int rows) => _rows += rows;

    /// <summary>The input features' accumulators so far.</summary>
    public IReadOnlyList<ProfileAccumulator> Features() => _features;

    /// <summary>The accumulator of input feature <paramref name="name"/>, created as <paramref name="numeric"/> the first time.</summary>
    public ProfileAccumulator Feature(string name, bool numeric) => Accumulator(name, numeric, _features, "feature:");

    /// <summary>The accumulator of prediction output column <paramref name="name"/>.</summary>
    public ProfileAccumulator Prediction(string name) => Accumulator(name, numeric: true, _predictions, "prediction:");

    /// <summary>Adds a batch of raw rows: every field of their view (numbers for number fields, categories for text ones).</summary>
    public void AddRows(FeatureRows rows)
    {
        var view = rows.View;
        if (_viewFields is null)
        {
            _viewFields = new ProfileAccumulator[view.Fields.Count];
            for (var f = 0; f < _viewFields.Length; f++)
            {
                _viewFields[f] = Feature(view.Fields[f].Name, view.Fields[f].Kind == FeatureKind.Number);
            }
        }
        for (var f = 0; f < _viewFields.Length; f++)
        {
            var field = view.Fields[f];
            var accumulator = _viewFields[f];
            for (var row = 0; row < rows.Count; row++)
            {
                AddRaw(accumulator, field, rows, row);
            }
        }
        _rows += rows.Count;
    }

    /// <summary>Adds a batch of input tensors: each column of each tensor (<c>input[column]</c>) is a numeric feature.</summary>
    public void AddInputs(IReadOnlyList<Tensor> tensors, bool batched) => _rows += AddTensors(tensors, batched, prediction: false);

    /// <summary>Adds a batch of outputs: each column of each tensor is a prediction (named by the output alone when it is one column wide).</summary>
    public void AddOutputs(IReadOnlyList<Tensor> tensors, bool batched) => AddTensors(tensors, batched, prediction: true);

    /// <summary>The profile of what was added, naming <paramref name="source"/> as where the rows came from.</summary>
    public TrainingProfile Build(string source, int bins = DefaultBins, int maxCategories = DefaultMaxCategories, TimeProvider? time = null)
    {
        var profile = new TrainingProfile
        {
            Model = Model,
            Version = Version,
            Level = Level,
            Source = source,
            Created = (time ?? TimeProvider.System).GetUtcNow(),
            Rows = _rows,
        };
        foreach (var feature in _features)
        {
            profile.Features.Add(feature.Build(bins, maxCategories));
        }
        foreach (var prediction in _predictions)
        {
            profile.Predictions.Add(prediction.Build(bins, maxCategories));
        }
        return profile;
    }

    private ProfileAccumulator Accumulator(string name, bool numeric, List<ProfileAccumulator> list, string prefix)
    {
        var key = prefix + name;
        if (!_byName.TryGetValue(key, out var accumulator))
        {
            accumulator = new ProfileAccumulator(name, numeric, _reservoir, seed: _byName.Count + 1);
            _byName[key] = accumulator;
            list.Add(accumulator);
        }
        return accumulator;
    }

    private int AddTensors(IReadOnlyList<Tensor> tensors, bool batched, bool prediction)
    {
        var rows = 0;
        foreach (var tensor in tensors)
        {
            if (tensor.DataType == DataType.Bytes)
            {
                continue;
            }
            rows = batched && tensor.Shape.Length > 0 ? (int)tensor.Shape[0] : 1;
            var width = rows == 0 ? 0 : (int)(tensor.ElementCount / rows);
            for (var column = 0; column < width; column++)
            {
                var name = DriftColumn.ColumnName(tensor.Name, column, width);
                var accumulator = prediction ? Prediction(name) : Feature(name, numeric: true);
                for (var row = 0; row < rows; row++)
                {
                    accumulator.Add(DriftColumn.Element(tensor, row * width + column));
                }
            }
        }
        return rows;
    }

    // The raw value as the view reads it: the request's, else the store's.
    private static void AddRaw(ProfileAccumulator accumulator, FeatureField field, FeatureRows rows, int row)
    {
        if (field.FromRequest)
        {
            if (rows.Request.TryGetNumber(field.Index, row, out var number))
            {
                if (!double.IsNaN(number))
                {
                    if (accumulator.IsNumeric)
                    {
                        accumulator.Add(number);
                    }
                    else
                    {
                        Span<char> text = stackalloc char[32];
                        number.TryFormat(text, out var written, "R", CultureInfo.InvariantCulture);
                        accumulator.Add(text[..written]);
                    }
                    return;
                }
            }
            else if (rows.Request.TryGetText(field.Index, row, out var text))
            {
                if (accumulator.IsNumeric && text.IsWhiteSpace())
                {
                    accumulator.AddMissing();
                }
                else
                {
                    accumulator.Add(text);
                }
                return;
            }
        }
        if (field.StoreIndex >= 0 && rows.TryGetStoreValue(field.StoreIndex, row, out var stored))
        {
            char[]? rented = null;
            Span<char> buffer = stored.Length <= StackTextBytes ? stackalloc char[StackTextBytes] : (rented = ArrayPool<char>.Shared.Rent(stored.Length));
            var length = Encoding.UTF8.GetChars(stored, buffer);
            accumulator.Add(buffer[..length]);
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
            return;
        }
        accumulator.AddMissing();
    }
}
