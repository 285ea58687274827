using System.Buffers;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Routing;

/// <summary>
/// A route's traffic as one route table sees it: the declared variants resolved to the model versions that serve them,
/// and the choice of a variant for each request. Rebuilt with every table; what outlives a table (the weights, the
/// metrics) is in its <see cref="RouteRuntime"/>.
/// </summary>
/// <remarks>
/// A request is sent by, in order: the forcing header (that variant, whatever the weights); else its routing key
/// (<see cref="RoutingContext.RoutingKey"/>, else the sticky parameter, else the sticky header, else the first element
/// of the sticky input), by weighted rendezvous hashing; else the weights at random. A request is routed as a whole,
/// so where the sticky input is batched (the route's model has max_batch_size > 0) every row must carry row 0's key:
/// a request that mixes keys is refused rather than sent, for all its rows, where its first row's key goes. A variant that does not serve
/// (its model not loaded, its version not ready) counts as weight 0, so no request fails while a variant with weight
/// serves; when none with weight serves, the first variant that serves takes the request rather than fail it.
/// <para>
/// Rendezvous: each variant scores a key by <c>-ln(u) / weight</c>, <c>u</c> in (0, 1) from a 64-bit hash of the key
/// seeded by the variant's name, and the lowest score wins. A variant's score is an exponential draw at rate
/// <c>weight</c>, so it wins a share of keys equal to its share of the weight; a key's scores do not depend on the
/// other variants, so a change of weights moves only the keys whose winner changed: raising one variant's weight
/// moves keys to it only (10/90 to 20/80 moves about 10% of keys, all to the first). <c>hash % n</c> would move most.
/// </para>
/// </remarks>
internal sealed class TrafficRoute
{
    // Keys longer than this (string elements of an input tensor) are decoded into a pooled array instead.
    private const int StackKeyLength = 128;

    private const double Unit = 1.0 / (1UL << 53);

    private readonly RouteVariant[] _variants;
    private readonly string _variantList;
    private readonly string? _keyParameter;
    private readonly string? _keyHeader;
    private readonly string? _keyInput;
    // True when the sticky input's first dimension is the batch, so that each row carries a key of its own.
    private readonly bool _keyRows;

    internal TrafficRoute(ModelRoute route, RouteRuntime runtime, IReadOnlyDictionary<string, ModelRoute> models)
    {
        Route = route;
        Runtime = runtime;
        var config = runtime.Declaration.Config;
        _variants = new RouteVariant[config.Variant.Count];
        for (var i = 0; i < _variants.Length; i++)
        {
            _variants[i] = new RouteVariant(this, i, config.Variant[i], models);
        }
        _variantList = string.Join(", ", runtime.VariantNames);
        if (config.Sticky is { } sticky)
        {
            _keyParameter = sticky.Parameter.Length > 0 ? sticky.Parameter : null;
            _keyHeader = sticky.Header.Length > 0 ? sticky.Header : null;
            _keyInput = sticky.Input.Length > 0 ? sticky.Input : null;
        }
        // The variants take the same inputs; the one that describes the route says whether they come in batches.
        foreach (var variant in _variants)
        {
            if (variant.Target is { } target)
            {
                _keyRows = _keyInput is not null && target.Config.MaxBatchSize > 0;
                break;
            }
        }
    }

    /// <summary>The route's entry in the table: the name clients address.</summary>
    public ModelRoute Route { get; }

    /// <summary>What the route keeps across tables: weights, metrics.</summary>
    public RouteRuntime Runtime { get; }

    /// <summary>The variants by index, the primary first.</summary>
    public IReadOnlyList<RouteVariant> Variants => _variants;

    /// <summary>The variant a request goes to (see the remarks); InvalidArgument for a forced variant the route lacks, Unavailable when none serves.</summary>
    [SkipLocalsInit]
    public ModelTarget Choose(in RoutingContext context)
    {
        if (context.Headers[Runtime.VariantHeader] is { } forced)
        {
            return Forced(forced);
        }
        var weights = Runtime.Weights.Current;
        Span<char> buffer = stackalloc char[StackKeyLength];
        char[]? rented = null;
        int chosen;
        if (TryReadKey(context, buffer, ref rented, out var key))
        {
            chosen = Rendezvous(key, weights);
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
        else
        {
            chosen = WeightedRandom(weights);
        }
        return chosen >= 0 ? _variants[chosen].Target! : FirstServing();
    }

    /// <summary>
    /// The version that describes the route (its metadata and config): the primary's; when the primary does not serve,
    /// the first variant that does, so that a client can still read what the route takes.
    /// </summary>
    public ModelTarget Describe() => _variants[0].Target ?? FirstServing();

    private ModelTarget Forced(string name)
    {
        foreach (var variant in _variants)
        {
            if (string.Equals(variant.Name, name, StringComparison.Ordinal))
            {
                return variant.Target ?? throw new InferenceException(InferenceErrorKind.Unavailable,
                    $"variant '{variant.Name}' of route '{Route.Name}' does not serve: {variant.Reason}");
            }
        }
        throw InferenceException.Invalid($"header '{Runtime.VariantHeader}' names variant '{name}', which route '{Route.Name}' does not have; its variants are: {_variantList}");
    }

    private ModelTarget FirstServing()
    {
        foreach (var variant in _variants)
        {
            if (variant.Target is { } target)
            {
                return target;
            }
        }
        throw new InferenceException(InferenceErrorKind.Unavailable, NoneServes());
    }

    private string NoneServes()
    {
        var reasons = new string[_variants.Length];
        for (var i = 0; i < reasons.Length; i++)
        {
            reasons[i] = $"{_variants[i].Name}: {_variants[i].Reason}";
        }
        return $"route '{Route.Name}' has no variant that serves ({string.Join("; ", reasons)})";
    }

    // An empty key is no key: a client that sends routing_key "" has not named anyone.
    private bool TryReadKey(in RoutingContext context, Span<char> buffer, ref char[]? rented, out ReadOnlySpan<char> key)
    {
        var text = context.RoutingKey;
        if (string.IsNullOrEmpty(text) && _keyParameter is not null && context.Parameters is { } parameters)
        {
            parameters.TryGetValue(_keyParameter, out text);
        }
        if (string.IsNullOrEmpty(text) && _keyHeader is not null)
        {
            text = context.Headers[_keyHeader];
        }
        if (!string.IsNullOrEmpty(text))
        {
            key = text;
            return true;
        }
        if (_keyInput is not null && context.Inputs is { } inputs)
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                if (string.Equals(inputs[i].Name, _keyInput, StringComparison.Ordinal))
                {
                    if (!RoutingKeyText.TryWriteFirst(inputs[i], buffer, ref rented, out key) || key.Length == 0)
                    {
                        return false;
                    }
                    // A batched input is [rows, dims...]; one of rank 1 is no batch (and no input the model takes).
                    if (_keyRows && inputs[i].Shape.Length >= 2 && RoutingKeyText.FirstRowWithOtherKey(inputs[i]) is var row and >= 0)
                    {
                        if (rented is not null)
                        {
                            ArrayPool<char>.Shared.Return(rented);
                        }
                        throw MixedKeys(inputs[i], row);
                    }
                    return true;
                }
            }
        }
        key = default;
        return false;
    }

    // Routing the batch by row 0 would send the other users' rows to row 0's variant: their assignment would depend on
    // who they were batched with, and an experiment would count them under a variant they were never assigned to.
    private InferenceException MixedKeys(Tensor input, long row) =>
        InferenceException.Invalid($"input '{input.Name}' is the routing key of route '{Route.Name}', and its rows carry different keys: "
            + $"row 0 has '{RoutingKeyText.KeyText(input, 0)}', row {row} has '{RoutingKeyText.KeyText(input, row * (input.ElementCount / input.Shape[0]))}'; "
            + "a request is routed as a whole, so send the rows of each key as a request of its own");

    private int Rendezvous(ReadOnlySpan<char> key, ReadOnlySpan<uint> weights)
    {
        var bytes = MemoryMarshal.AsBytes(key);
        var best = -1;
        var bestScore = double.PositiveInfinity;
        for (var i = 0; i < _variants.Length; i++)
        {
            var weight = Effective(i, weights);
            if (weight == 0)
            {
                continue;
            }
            var hash = XxHash3.HashToUInt64(bytes, _variants[i].Seed);
            var score = -Math.Log(((hash >> 11) + 0.5) * Unit) / weight;
            if (score < bestScore)
            {
                bestScore = score;
                best = i;
            }
        }
        return best;
    }

    private int WeightedRandom(ReadOnlySpan<uint> weights)
    {
        ulong total = 0;
        for (var i = 0; i < _variants.Length; i++)
        {
            total += Effective(i, weights);
        }
        if (total == 0)
        {
            return -1;
        }
        var draw = (ulong)Random.Shared.NextInt64((long)total);
        for (var i = 0; i < _variants.Length; i++)
        {
            var weight = Effective(i, weights);
            if (draw < weight)
            {
                return i;
            }
            draw -= weight;
        }
        return -1;
    }

    private uint Effective(int variant, ReadOnlySpan<uint> weights) => _variants[variant].Target is null ? 0 : weights[variant];
}
