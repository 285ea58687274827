using System.Globalization;
using InferenceServer.Core.Features.Config;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Core.Features;

/// <summary>
/// Checks a parsed <see cref="FeatureViewConfig"/> and compiles it into a <see cref="FeatureView"/>: defaults filled in,
/// every name resolved to an index, every transform to a <see cref="NumberOp"/>, every default encoded. A declaration
/// that cannot encode (a transform without its parameters, std 0, an empty vocabulary, a feature named twice, an output
/// column naming no feature, a key pattern naming no entity key) is refused with the field and where it was written.
/// </summary>
internal static class FeatureViewCompiler
{
    /// <summary>The lookup timeout when the store does not give one.</summary>
    public const uint DefaultTimeoutMilliseconds = 20;

    /// <summary>The longest lookup timeout a store may give.</summary>
    public const uint MaxTimeoutMilliseconds = 60_000;

    public static FeatureView Compile(FeatureViewConfig config, string name, string text, string fileName, ConfigPositions positions)
    {
        var check = new Checker(fileName, positions);
        if (config.Version < 0)
        {
            throw check.Error("version", $"{config.Version} is not a version: a number from 1 up");
        }
        var version = config.Version == 0 ? 1 : config.Version;

        var entityKeys = new string[config.EntityKey.Count];
        for (var i = 0; i < entityKeys.Length; i++)
        {
            var key = config.EntityKey[i];
            RequireName(check, $"entity_key[{i}]", key, "an entity key");
            if (Array.IndexOf(entityKeys, key, 0, i) >= 0)
            {
                throw check.Error($"entity_key[{i}]", $"entity key '{key}' is declared twice");
            }
            entityKeys[i] = key;
        }

        FeatureStore? store = null;
        StoreKeyPattern? keyPattern = null;
        if (config.Store is { } declared)
        {
            if (entityKeys.Length == 0)
            {
                throw check.Error("entity_key", "required with a store: the entity key (e.g. 'id') whose value fills the key pattern");
            }
            if (declared.KeyPattern.Length == 0)
            {
                throw check.Error("store.key_pattern", "required: where an entity's hash lives, e.g. 'income:{id}'");
            }
            keyPattern = StoreKeyPattern.TryCompile(declared.KeyPattern, entityKeys, out var patternError)
                ?? throw check.Error("store.key_pattern", patternError);
            var timeout = declared.TimeoutMs == 0 ? DefaultTimeoutMilliseconds : declared.TimeoutMs;
            if (timeout > MaxTimeoutMilliseconds)
            {
                throw check.Error("store.timeout_ms", $"{timeout} ms is more than the most a lookup may take, {MaxTimeoutMilliseconds} ms");
            }
            var onFailure = declared.OnFailure == StoreFailureMode.Defaults ? FeatureStoreFailureMode.Defaults : FeatureStoreFailureMode.Unavailable;
            store = new FeatureStore(declared.KeyPattern, Ttl(check, "store.ttl_seconds", declared.TtlSeconds), TimeSpan.FromMilliseconds(timeout), onFailure);
        }
        else if (entityKeys.Length > 0)
        {
            throw check.Error("entity_key", "entity keys are looked up in a store, and the view declares none: add 'store { key_pattern: ... }' or remove them");
        }

        if (config.Feature.Count == 0)
        {
            throw check.Error("feature", "a view needs at least one feature");
        }
        var columns = CompileFeatures(config, check, store, out var fields, out var storeFields);
        var plans = CompileOutputs(config, check, columns);
        var prediction = CompilePrediction(config, check, positions);
        return new FeatureView(name, version, text, entityKeys, store, keyPattern, fields, storeFields, plans, prediction);
    }

    private static Dictionary<string, FeatureColumn> CompileFeatures(FeatureViewConfig config, Checker check, FeatureStore? store,
        out FeatureField[] fields, out string[] storeFields)
    {
        // Raw fields first, in the order features first name them, so their indexes and the store's answer order are
        // the declaration's.
        var rawOrder = new List<string>();
        var rawKind = new Dictionary<string, (FeatureKind Kind, string Feature)>(StringComparer.Ordinal);
        var rawFromRequest = new HashSet<string>(StringComparer.Ordinal);
        var rawFromStore = new HashSet<string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < config.Feature.Count; i++)
        {
            var feature = config.Feature[i];
            var path = $"feature[{i}]";
            RequireName(check, $"{path}.name", feature.Name, "a feature name");
            if (!names.Add(feature.Name))
            {
                throw check.Error($"{path}.name", $"feature '{feature.Name}' is declared twice");
            }
            if (feature.Field.Length == 0)
            {
                feature.Field = feature.Name;
            }
            RequireName(check, $"{path}.field", feature.Field, "a raw field name");
            var kind = feature.Kind == Kind.Text ? FeatureKind.Text : FeatureKind.Number;
            if (rawKind.TryGetValue(feature.Field, out var first))
            {
                if (first.Kind != kind)
                {
                    throw check.Error($"{path}.kind", $"raw field '{feature.Field}' is read as {Describe(first.Kind)} by feature '{first.Feature}' and as {Describe(kind)} here");
                }
            }
            else
            {
                rawKind[feature.Field] = (kind, feature.Name);
                rawOrder.Add(feature.Field);
            }
            if (feature.Source == Source.Unspecified)
            {
                feature.Source = store is null ? Source.Request : Source.Either;
            }
            if (feature.Source != Source.Request && store is null)
            {
                throw check.Error($"{path}.source", $"{feature.Source.ToString().ToUpperInvariant()} reads the store, and the view declares none");
            }
            if (feature.Source != Source.Store)
            {
                rawFromRequest.Add(feature.Field);
            }
            if (feature.Source != Source.Request)
            {
                rawFromStore.Add(feature.Field);
            }
        }

        var storeList = new List<string>();
        fields = new FeatureField[rawOrder.Count];
        for (var i = 0; i < rawOrder.Count; i++)
        {
            var raw = rawOrder[i];
            var storeIndex = -1;
            if (rawFromStore.Contains(raw))
            {
                storeIndex = storeList.Count;
                storeList.Add(raw);
            }
            fields[i] = new FeatureField(raw, i, rawKind[raw].Kind, rawFromRequest.Contains(raw), storeIndex);
        }
        storeFields = [.. storeList];

        var columns = new Dictionary<string, FeatureColumn>(StringComparer.Ordinal);
        for (var i = 0; i < config.Feature.Count; i++)
        {
            var feature = config.Feature[i];
            var field = fields[rawOrder.IndexOf(feature.Field)];
            columns[feature.Name] = CompileFeature(check, $"feature[{i}]", feature, field, store);
        }
        return columns;
    }

    private static FeatureColumn CompileFeature(Checker check, string path, Feature feature, FeatureField field, FeatureStore? store)
    {
        var encoding = FeatureEncoding.Number;
        Vocabulary? vocabulary = null;
        var vocabularyPath = "";
        var ops = new List<NumberOp>();
        for (var t = 0; t < feature.Transform.Count; t++)
        {
            var transform = feature.Transform[t];
            var at = $"{path}.transform[{t}]";
            switch (transform.OpCase)
            {
                case Transform.OpOneofCase.OneHot or Transform.OpOneofCase.Ordinal:
                {
                    var op = transform.OpCase == Transform.OpOneofCase.OneHot ? "one_hot" : "ordinal";
                    if (field.Kind != FeatureKind.Text)
                    {
                        throw check.Error($"{at}.{op}", $"{op} encodes TEXT features, and '{feature.Name}' is a NUMBER (give it 'kind: TEXT', or bucketize a number)");
                    }
                    if (t != 0)
                    {
                        throw check.Error($"{at}.{op}", $"{op} must be the first transform of a TEXT feature: it turns the text into numbers");
                    }
                    encoding = transform.OpCase == Transform.OpOneofCase.OneHot ? FeatureEncoding.OneHot : FeatureEncoding.Ordinal;
                    vocabulary = transform.OpCase == Transform.OpOneofCase.OneHot ? transform.OneHot : transform.Ordinal;
                    vocabularyPath = $"{at}.{op}";
                    break;
                }
                case Transform.OpOneofCase.None:
                    throw check.Error(at, "names no transform: give one of standardize, min_max, log1p, clip, bucketize, one_hot, ordinal");
                default:
                    if (encoding == FeatureEncoding.OneHot)
                    {
                        throw check.Error(at, "one_hot must be the last transform: its columns are 0 or 1, not a number to transform further");
                    }
                    if (field.Kind == FeatureKind.Text && t == 0)
                    {
                        throw check.Error(at, $"a TEXT feature starts with one_hot or ordinal, to turn '{feature.Name}' into numbers");
                    }
                    ops.Add(CompileNumberOp(check, at, transform));
                    break;
            }
        }
        if (field.Kind == FeatureKind.Text && vocabulary is null)
        {
            throw check.Error($"{path}.transform", $"a TEXT feature needs one_hot or ordinal, to turn '{feature.Name}' into numbers");
        }
        Dictionary<string, int>? values = null;
        if (vocabulary is not null)
        {
            if (vocabulary.Value.Count == 0)
            {
                throw check.Error($"{vocabularyPath}.value", "the vocabulary is empty: list the values it knows");
            }
            values = new Dictionary<string, int>(vocabulary.Value.Count, StringComparer.Ordinal);
            for (var v = 0; v < vocabulary.Value.Count; v++)
            {
                if (!values.TryAdd(vocabulary.Value[v], v))
                {
                    throw check.Error($"{vocabularyPath}.value[{v}]", $"'{vocabulary.Value[v]}' is in the vocabulary twice");
                }
            }
        }

        var readsStore = feature.Source != Source.Request;
        long ttl = 0;
        if (feature.TtlSeconds > 0)
        {
            if (!readsStore)
            {
                throw check.Error($"{path}.ttl_seconds", "a TTL ages stored values, and this feature reads only requests");
            }
            ttl = (long)Ttl(check, $"{path}.ttl_seconds", feature.TtlSeconds).TotalMilliseconds;
        }
        else if (readsStore)
        {
            ttl = (long)store!.Ttl.TotalMilliseconds;
        }
        var column = new FeatureColumn(feature.Name, field, feature.Source != Source.Store, readsStore ? field.StoreIndex : -1, ttl, encoding,
            [.. ops], values, vocabulary?.OovBucket ?? false);

        switch (feature.IfMissingCase)
        {
            case Feature.IfMissingOneofCase.DefaultNumber:
                if (field.Kind != FeatureKind.Number)
                {
                    throw check.Error($"{path}.default_number", $"'{feature.Name}' is a TEXT feature: its default is default_text");
                }
                column.SetDefault(EncodeDefault(check, $"{path}.default_number", () => FeatureEngine.EncodeNumber(column, 0, feature.DefaultNumber)));
                break;
            case Feature.IfMissingOneofCase.DefaultText:
                if (field.Kind != FeatureKind.Text)
                {
                    throw check.Error($"{path}.default_text", $"'{feature.Name}' is a NUMBER feature: its default is default_number");
                }
                column.SetDefault(EncodeDefault(check, $"{path}.default_text", () => FeatureEngine.EncodeText(column, 0, feature.DefaultText)));
                break;
        }
        return column;
    }

    private static NumberOp CompileNumberOp(Checker check, string at, Transform transform)
    {
        switch (transform.OpCase)
        {
            case Transform.OpOneofCase.Standardize:
            {
                var s = transform.Standardize;
                RequireFinite(check, $"{at}.standardize.mean", s.Mean);
                if (!(s.Std > 0) || !double.IsFinite(s.Std))
                {
                    throw check.Error($"{at}.standardize.std", $"{Show(s.Std)} is not a standard deviation to divide by: give a finite number above 0");
                }
                return new NumberOp(NumberOpKind.Standardize, s.Mean, s.Std, null);
            }
            case Transform.OpOneofCase.MinMax:
            {
                var m = transform.MinMax;
                RequireFinite(check, $"{at}.min_max.min", m.Min);
                RequireFinite(check, $"{at}.min_max.max", m.Max);
                if (!(m.Max > m.Min))
                {
                    throw check.Error($"{at}.min_max.max", $"max ({Show(m.Max)}) must be more than min ({Show(m.Min)})");
                }
                return new NumberOp(NumberOpKind.MinMax, m.Min, m.Max, null);
            }
            case Transform.OpOneofCase.Log1P:
                return new NumberOp(NumberOpKind.Log1p, 0, 0, null);
            case Transform.OpOneofCase.Clip:
            {
                var c = transform.Clip;
                // Unwritten bounds are open: proto3 cannot tell 0 from unset, the positions can.
                var min = check.Has($"{at}.clip.min") ? c.Min : double.NegativeInfinity;
                var max = check.Has($"{at}.clip.max") ? c.Max : double.PositiveInfinity;
                if (double.IsNaN(min) || double.IsNaN(max) || min > max)
                {
                    throw check.Error($"{at}.clip", $"the bounds [{Show(min)}, {Show(max)}] are not a range: min at most max");
                }
                if (double.IsNegativeInfinity(min) && double.IsPositiveInfinity(max))
                {
                    throw check.Error($"{at}.clip", "give min, max or both");
                }
                return new NumberOp(NumberOpKind.Clip, min, max, null);
            }
            default:
            {
                var boundaries = transform.Bucketize.Boundaries;
                if (boundaries.Count == 0)
                {
                    throw check.Error($"{at}.bucketize.boundaries", "give at least one bucket edge");
                }
                for (var b = 0; b < boundaries.Count; b++)
                {
                    RequireFinite(check, $"{at}.bucketize.boundaries[{b}]", boundaries[b]);
                    if (b > 0 && !(boundaries[b] > boundaries[b - 1]))
                    {
                        throw check.Error($"{at}.bucketize.boundaries[{b}]", $"the edges must increase: {Show(boundaries[b])} follows {Show(boundaries[b - 1])}");
                    }
                }
                return new NumberOp(NumberOpKind.Bucketize, 0, 0, [.. boundaries]);
            }
        }
    }

    private static OutputPlan[] CompileOutputs(FeatureViewConfig config, Checker check, Dictionary<string, FeatureColumn> columns)
    {
        if (config.Output.Count == 0)
        {
            throw check.Error("output", "a view needs at least one output: the model input it feeds, and its columns");
        }
        var used = new HashSet<string>(StringComparer.Ordinal);
        var outputNames = new HashSet<string>(StringComparer.Ordinal);
        var plans = new OutputPlan[config.Output.Count];
        for (var o = 0; o < plans.Length; o++)
        {
            var output = config.Output[o];
            var path = $"output[{o}]";
            if (output.Name.Length == 0)
            {
                throw check.Error($"{path}.name", "required: the model input this tensor feeds");
            }
            if (!outputNames.Add(output.Name))
            {
                throw check.Error($"{path}.name", $"output '{output.Name}' is declared twice");
            }
            var dataType = DataType.Fp32;
            if (output.Datatype.Length > 0 && !(DataTypes.TryParseProtocolName(output.Datatype, out dataType)
                && dataType is DataType.Fp32 or DataType.Fp64 or DataType.Int32 or DataType.Int64))
            {
                throw check.Error($"{path}.datatype", $"'{output.Datatype}' is not a type a view writes: FP32, FP64, INT32 or INT64");
            }
            if (output.Column.Count == 0)
            {
                throw check.Error($"{path}.column", "an output needs at least one column: the features of a row, in order");
            }
            var planColumns = new FeatureColumn[output.Column.Count];
            var offsets = new int[planColumns.Length];
            var inOutput = new HashSet<string>(StringComparer.Ordinal);
            var width = 0;
            for (var c = 0; c < planColumns.Length; c++)
            {
                var name = output.Column[c];
                if (!columns.TryGetValue(name, out var column))
                {
                    throw check.Error($"{path}.column[{c}]", $"'{name}' is not a feature of the view (its features: {string.Join(", ", columns.Keys)})");
                }
                if (!inOutput.Add(name))
                {
                    throw check.Error($"{path}.column[{c}]", $"feature '{name}' is a column of '{output.Name}' twice");
                }
                used.Add(name);
                planColumns[c] = column;
                offsets[c] = width;
                width += column.Width;
            }
            plans[o] = new OutputPlan(new FeatureOutput(output.Name, dataType, width), planColumns, offsets);
        }
        for (var i = 0; i < config.Feature.Count; i++)
        {
            if (!used.Contains(config.Feature[i].Name))
            {
                throw check.Error($"feature[{i}].name", $"feature '{config.Feature[i].Name}' is a column of no output: add it to an output or remove it");
            }
        }
        return plans;
    }

    private static FeaturePrediction? CompilePrediction(FeatureViewConfig config, Checker check, ConfigPositions positions)
    {
        if (config.Prediction is not { } prediction)
        {
            return null;
        }
        if (prediction.Output.Length == 0)
        {
            throw check.Error("prediction.output", "required: the model output whose value is labelled, e.g. 'probability'");
        }
        var threshold = positions.Has("prediction.threshold") ? prediction.Threshold : 0.5;
        RequireFinite(check, "prediction.threshold", threshold);
        if (prediction.Label.Count != 2)
        {
            throw check.Error("prediction.label", $"give exactly two labels, the negative one first (e.g. '<=50K', '>50K'); {prediction.Label.Count} given");
        }
        for (var i = 0; i < 2; i++)
        {
            if (prediction.Label[i].Length == 0)
            {
                throw check.Error($"prediction.label[{i}]", "a label is not empty");
            }
        }
        if (prediction.Label[0] == prediction.Label[1])
        {
            throw check.Error("prediction.label[1]", $"both labels are '{prediction.Label[0]}': a prediction could not be told apart");
        }
        return new FeaturePrediction(prediction.Output, threshold, prediction.Label[0], prediction.Label[1]);
    }

    private static double EncodeDefault(Checker check, string path, Func<double> encode)
    {
        try
        {
            return encode();
        }
        catch (FeatureException e)
        {
            throw check.Error(path, $"the default cannot be encoded: {e.Reason}");
        }
    }

    private static TimeSpan Ttl(Checker check, string path, ulong seconds) =>
        seconds <= (ulong)TimeSpan.MaxValue.TotalSeconds / 2 ? TimeSpan.FromSeconds(seconds) : throw check.Error(path, $"{seconds} s is not a TTL this server can measure");

    private static void RequireFinite(Checker check, string path, double value)
    {
        if (!double.IsFinite(value))
        {
            throw check.Error(path, $"{Show(value)} is not a finite number");
        }
    }

    private static void RequireName(Checker check, string path, string name, string what)
    {
        var valid = name.Length is > 0 and <= 128;
        foreach (var c in name)
        {
            valid &= char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.';
        }
        if (!valid)
        {
            throw check.Error(path, $"'{name}' is not {what}: use 1 to 128 letters, digits, '_', '-' and '.'");
        }
    }

    private static string Describe(FeatureKind kind) => kind == FeatureKind.Text ? "TEXT" : "NUMBER";

    private static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private readonly struct Checker(string fileName, ConfigPositions positions)
    {
        public bool Has(string path) => positions.Has(path);

        public ModelConfigException Error(string path, string reason)
        {
            var (line, column) = positions.Field(path);
            return new ModelConfigException(fileName, line, column, path, reason);
        }
    }
}
