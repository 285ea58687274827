using System.Diagnostics;
using InferenceServer.Core.Features.Sidecar;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Monitoring;

namespace InferenceServer.Core.Features;

/// <summary>
/// Makes a request's model inputs from its model's feature view, before the request is routed: the entities' stored
/// values (one lookup through the sidecar for all the request's rows), then the request's own fields over them (a
/// request's value wins), then the view's transforms into the input tensors (whose defaults fill what is still
/// missing). A store that fails leaves its fields missing when the view says <c>defaults</c>, or fails the request
/// with 503 naming the store or sidecar. Every request it handles is counted by view and outcome.
/// </summary>
internal sealed class FeatureStage(SidecarClient? sidecar, FeatureMetrics metrics, TimeProvider time, Drift.DriftMonitors? drift = null)
{
    /// <summary>The flag that names the sidecar, for the error a server without one gives.</summary>
    public const string SidecarFlag = "--feature-sidecar";

    /// <summary>The entity key value of the lookup that warms the path: no entity is keyed by a control character.</summary>
    public const string WarmUpEntity = "\u0001warm-up";

    // Long enough for the first lookup of a cold sidecar; bounded, so a stalled one delays the start by no more than this.
    private static readonly TimeSpan WarmUpTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Sends one lookup per view that reads the store (of a key no entity has), so that the first real request does not
    /// pay for the code of the lookup path, here and in the sidecar, being run for the first time: that alone can take
    /// longer than a view's lookup timeout. The answer is not read; a sidecar that is not there yet is not an error
    /// (the first request finds it, or says it is missing).
    /// </summary>
    public async Task WarmUpAsync(IEnumerable<FeatureView> views, CancellationToken cancellationToken)
    {
        if (sidecar is null)
        {
            return;
        }
        foreach (var view in views)
        {
            if (view.Store is null)
            {
                continue;
            }
            var entity = new string[view.EntityKeys.Count];
            Array.Fill(entity, WarmUpEntity);
            try
            {
                using var _ = await sidecar.LookupAsync(view.Name, view.StoreFields, [view.StoreKey(entity)], WarmUpTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever failed here, the first request meets it again and answers with it.
            }
        }
    }

    /// <summary>Fills <paramref name="request"/>'s inputs from <paramref name="query"/> through <paramref name="view"/>; throws a 4xx/503 <see cref="InferenceException"/> naming what failed.</summary>
    public async ValueTask ApplyAsync(FeatureView view, FeatureQuery query, InferenceRequest request, CancellationToken cancellationToken)
    {
        var outcome = FeatureOutcome.Invalid;
        try
        {
            outcome = await FillAsync(view, query, request, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            outcome = e.Kind switch
            {
                InferenceErrorKind.NotFound => FeatureOutcome.NotFound,
                InferenceErrorKind.Unavailable => FeatureOutcome.Unavailable,
                _ => FeatureOutcome.Invalid,
            };
            throw;
        }
        finally
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                metrics.Count(view.Name, outcome);
            }
        }
    }

    private async ValueTask<FeatureOutcome> FillAsync(FeatureView view, FeatureQuery query, InferenceRequest request, CancellationToken cancellationToken)
    {
        FeatureRows? rows = view.RentRows(query.Rows);
        try
        {
            var outcome = await FillRowsAsync(view, query, request, rows, cancellationToken).ConfigureAwait(false);
            // Drift monitoring compares raw values, which only these rows hold: a sampled request carries them to the
            // version that runs it (which records and releases them). The draw is made here, once per request.
            if (drift is not null)
            {
                request.DriftDrawn = true;
                if (drift.DrawRawRows())
                {
                    request.DriftRows = rows;
                    rows = null;
                }
            }
            return outcome;
        }
        finally
        {
            rows?.Dispose();
        }
    }

    private async ValueTask<FeatureOutcome> FillRowsAsync(FeatureView view, FeatureQuery query, InferenceRequest request, FeatureRows rows, CancellationToken cancellationToken)
    {
        string? storeFailure = null;
        if (query.HasEntities)
        {
            storeFailure = await ReadStoreAsync(view, query, rows, request.TimeoutMicroseconds, cancellationToken).ConfigureAwait(false);
        }
        SetFields(view, query, rows);
        IReadOnlyList<Tensors.Tensor> tensors;
        try
        {
            tensors = view.Transform(rows, time.GetUtcNow());
        }
        catch (FeatureException e)
        {
            throw storeFailure is null
                ? InferenceException.Invalid(e.Message)
                : new InferenceException(InferenceErrorKind.Unavailable, $"{storeFailure}; the view's defaults do not cover it: {e.Message}");
        }
        // The request owns them from here, and releases them with its other inputs.
        foreach (var tensor in tensors)
        {
            request.Inputs.Add(tensor);
        }
        return storeFailure is null ? FeatureOutcome.Ok : FeatureOutcome.Defaults;
    }

    // Looks the query's entities up and sets their stored values; returns why the store failed when the view's
    // defaults stand in for it (else the failure is thrown).
    private async ValueTask<string?> ReadStoreAsync(FeatureView view, FeatureQuery query, FeatureRows rows, long requestTimeoutUs, CancellationToken cancellationToken)
    {
        var store = view.Store ?? throw InferenceException.Invalid(
            $"feature view '{view.Name}' reads no online store, so it takes no entity: send the record's fields instead");
        var (keys, rowOf) = StoreKeys(view, query);
        if (sidecar is null)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable,
                $"feature view '{view.Name}' reads the online store through the feature sidecar, and this server has none: start it with {SidecarFlag} PATH (the socket 'feature-sidecar serve' listens on), or send the record's fields instead of an entity");
        }
        // The deadline travels with the lookup: the view's lookup timeout, or the request's own when that is shorter.
        var timeout = store.Timeout;
        if (requestTimeoutUs > 0 && TimeSpan.FromMicroseconds(requestTimeoutUs) < timeout)
        {
            timeout = TimeSpan.FromMicroseconds(requestTimeoutUs);
        }
        var started = Stopwatch.GetTimestamp();
        using var result = await sidecar.LookupAsync(view.Name, view.StoreFields, keys, timeout, cancellationToken).ConfigureAwait(false);
        metrics.Lookup(view.Name, Stopwatch.GetElapsedTime(started));
        if (result.Status != SidecarLookupStatus.Ok)
        {
            return store.OnFailure == FeatureStoreFailureMode.Defaults
                ? result.Message
                : throw new InferenceException(InferenceErrorKind.Unavailable, result.Message);
        }
        var fields = view.StoreFields.Count;
        for (var i = 0; i < keys.Length; i++)
        {
            var storedAt = result.StoredAt(i);
            if (storedAt == 0)
            {
                throw new InferenceException(InferenceErrorKind.NotFound,
                    $"entity '{keys[i]}' is not in the online store of feature view '{view.Name}'{RowText(query, rowOf[i])}");
            }
            var row = rowOf[i];
            rows.SetStoredAt(row, storedAt);
            for (var field = 0; field < fields; field++)
            {
                if (result.TryGetValue(i, field, out var value))
                {
                    rows.SetStoreValue(row, field, value);
                }
            }
        }
        return null;
    }

    // The store key of every row that names an entity (in row order), and which row each is.
    private static (string[] Keys, int[] RowOf) StoreKeys(FeatureView view, FeatureQuery query)
    {
        var entityKeys = view.EntityKeys;
        var values = new string?[query.Rows * entityKeys.Count];
        var named = new bool[query.Rows];
        foreach (var value in query.Entities)
        {
            var key = IndexOf(entityKeys, value.Name);
            if (key < 0)
            {
                throw InferenceException.Invalid(
                    $"'{value.Name}' is not an entity key of feature view '{view.Name}'{RowText(query, value.Row)}: its entities are keyed by {string.Join(", ", entityKeys)}");
            }
            values[value.Row * entityKeys.Count + key] = value.Text;
            named[value.Row] = true;
        }
        var count = 0;
        foreach (var isNamed in named)
        {
            count += isNamed ? 1 : 0;
        }
        var keys = new string[count];
        var rowOf = new int[count];
        var entity = new string[entityKeys.Count];
        var next = 0;
        for (var row = 0; row < query.Rows; row++)
        {
            if (!named[row])
            {
                continue;
            }
            for (var key = 0; key < entity.Length; key++)
            {
                entity[key] = values[row * entity.Length + key] ?? throw InferenceException.Invalid(
                    $"the entity{RowText(query, row)} has no '{entityKeys[key]}': feature view '{view.Name}' keys its entities by {string.Join(", ", entityKeys)}");
            }
            keys[next] = view.StoreKey(entity);
            rowOf[next++] = row;
        }
        return (keys, rowOf);
    }

    private static void SetFields(FeatureView view, FeatureQuery query, FeatureRows rows)
    {
        foreach (var value in query.Fields)
        {
            if (!view.TryGetField(value.Name, out var field))
            {
                throw InferenceException.Invalid($"'{value.Name}'{RowText(query, value.Row)} is not a field of feature view '{view.Name}': its fields are {FieldNames(view)}");
            }
            if (!view.Fields[field].FromRequest)
            {
                throw InferenceException.Invalid(
                    $"field '{value.Name}'{RowText(query, value.Row)} of feature view '{view.Name}' comes from the online store only: name the entity instead of giving the value");
            }
            if (value.Text is { } text)
            {
                rows.SetText(value.Row, field, text);
            }
            else
            {
                rows.SetNumber(value.Row, field, value.Number);
            }
        }
    }

    private static string FieldNames(FeatureView view)
    {
        var names = new string[view.Fields.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = view.Fields[i].Name;
        }
        return string.Join(", ", names);
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    // A one-row query (an infer's parameters, a predict's record) needs no row number in its errors.
    private static string RowText(FeatureQuery query, int row) => query.Rows == 1 ? "" : $" (row {row})";
}
