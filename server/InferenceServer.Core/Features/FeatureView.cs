using InferenceServer.Core.Tensors;
using Microsoft.Extensions.ObjectPool;

namespace InferenceServer.Core.Features;

/// <summary>
/// A feature view: how the raw values of an entity (from a request, or from the online store by the entity's key)
/// become a model's input tensors. Read from a folder's <c>features.pbtxt</c> by <see cref="FeatureViewReader"/> and
/// compiled into a flat plan (per output, per feature: the raw field, the transforms), so that
/// <see cref="Transform"/> runs column by column over pooled <see cref="FeatureRows"/>. Immutable and thread-safe; one
/// definition shared by the server's online path, the feature sidecar and the batch scorer, so features are computed
/// one way only.
/// </summary>
public sealed class FeatureView
{
    /// <summary>The declaration's file name in a repository folder.</summary>
    public const string FileName = "features.pbtxt";

    private readonly Dictionary<string, int> _fieldIndex;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _fieldLookup;
    private readonly StoreKeyPattern? _keyPattern;
    private readonly OutputPlan[] _plans;
    private readonly ObjectPool<FeatureRows> _rowsPool;

    internal FeatureView(string name, long version, string text, string[] entityKeys, FeatureStore? store, StoreKeyPattern? keyPattern,
        FeatureField[] fields, string[] storeFields, OutputPlan[] plans, FeaturePrediction? prediction)
    {
        Name = name;
        Version = version;
        Text = text;
        EntityKeys = entityKeys;
        Store = store;
        _keyPattern = keyPattern;
        Fields = fields;
        StoreFields = storeFields;
        _plans = plans;
        var outputs = new FeatureOutput[plans.Length];
        for (var i = 0; i < plans.Length; i++)
        {
            outputs[i] = plans[i].Output;
        }
        Outputs = outputs;
        Prediction = prediction;
        _fieldIndex = new Dictionary<string, int>(fields.Length, StringComparer.Ordinal);
        foreach (var field in fields)
        {
            _fieldIndex[field.Name] = field.Index;
        }
        _fieldLookup = _fieldIndex.GetAlternateLookup<ReadOnlySpan<char>>();
        _rowsPool = new DefaultObjectPool<FeatureRows>(new RowsPolicy(this), Environment.ProcessorCount * 4);
    }

    /// <summary>The view's name: the folder its file is in.</summary>
    public string Name { get; }

    /// <summary>The version the file declares (reported by predict as feature_view_version).</summary>
    public long Version { get; }

    /// <summary>The entity keys, in the order <see cref="StoreKey"/> takes their values.</summary>
    public IReadOnlyList<string> EntityKeys { get; }

    /// <summary>The online store; null when the view reads only requests.</summary>
    public FeatureStore? Store { get; }

    /// <summary>The raw fields a lookup asks the store for, in the order the lookup answers them.</summary>
    public IReadOnlyList<string> StoreFields { get; }

    /// <summary>Every raw field, by index.</summary>
    public IReadOnlyList<FeatureField> Fields { get; }

    /// <summary>The tensors <see cref="Transform"/> produces, in order.</summary>
    public IReadOnlyList<FeatureOutput> Outputs { get; }

    /// <summary>How predict labels its answer; null when the view declares no labels.</summary>
    public FeaturePrediction? Prediction { get; }

    /// <summary>The file's text, to tell a changed declaration from an unchanged one.</summary>
    internal string Text { get; }

    /// <summary>The index of the raw field called <paramref name="name"/>.</summary>
    public bool TryGetField(ReadOnlySpan<char> name, out int index) => _fieldLookup.TryGetValue(name, out index);

    /// <summary>The store key of one entity: the key pattern with each entity key's value filled in.</summary>
    /// <param name="entityValues">The entity keys' values, in <see cref="EntityKeys"/> order.</param>
    /// <exception cref="InvalidOperationException">The view has no store.</exception>
    public string StoreKey(ReadOnlySpan<string> entityValues)
    {
        if (_keyPattern is null)
        {
            throw new InvalidOperationException($"feature view '{Name}' has no store, so no store keys");
        }
        if (entityValues.Length != EntityKeys.Count)
        {
            throw new ArgumentException($"feature view '{Name}' has {EntityKeys.Count} entity keys ({string.Join(", ", EntityKeys)}), {entityValues.Length} values were given", nameof(entityValues));
        }
        return _keyPattern.Format(entityValues);
    }

    /// <summary>Rents rows for <paramref name="count"/> entities, every value missing; dispose them to give them back.</summary>
    public FeatureRows RentRows(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rows = _rowsPool.Get();
        rows.Reset(count);
        return rows;
    }

    /// <summary>
    /// Encodes <paramref name="rows"/> into one pooled tensor per output, shape <c>[rows, width]</c>, owned by the caller.
    /// </summary>
    /// <param name="rows">Rows rented from this view.</param>
    /// <param name="now">The time stored values' ages are measured at.</param>
    /// <exception cref="FeatureException">A row cannot be encoded: a value missing without a default, expired, not a number.</exception>
    public IReadOnlyList<Tensor> Transform(FeatureRows rows, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.View != this)
        {
            throw new ArgumentException($"the rows belong to feature view '{rows.View.Name}', not '{Name}'", nameof(rows));
        }
        var nowMilliseconds = now.ToUnixTimeMilliseconds();
        var tensors = new Tensor[_plans.Length];
        var made = 0;
        try
        {
            for (; made < _plans.Length; made++)
            {
                var output = _plans[made].Output;
                var tensor = Tensor.Allocate(output.Name, output.DataType, [rows.Count, output.Width],
                    checked(rows.Count * output.Width * output.DataType.ElementSize()));
                tensors[made] = tensor;
                var data = tensor.Data;
                data.Clear();
                FeatureEngine.Fill(_plans[made], rows, nowMilliseconds, data);
            }
            return tensors;
        }
        catch
        {
            for (var i = 0; i <= made && i < tensors.Length; i++)
            {
                tensors[i]?.Dispose();
            }
            throw;
        }
    }

    /// <summary>True when <paramref name="other"/> was read from the same text for the same name.</summary>
    internal bool SameAs(FeatureView? other) => other is not null && other.Name == Name && string.Equals(other.Text, Text, StringComparison.Ordinal);

    internal void ReturnRows(FeatureRows rows) => _rowsPool.Return(rows);

    private sealed class RowsPolicy(FeatureView view) : IPooledObjectPolicy<FeatureRows>
    {
        public FeatureRows Create() => new(view);

        public bool Return(FeatureRows obj) => true;
    }
}
