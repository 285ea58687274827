using System.Diagnostics;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Routing.Experiments;
using InferenceServer.Core.Routing.Rollouts;

namespace InferenceServer.Core.Serving;

/// <summary>
/// The one way into the server's models: health, metadata, config, statistics, the repository index, load, unload and
/// inference. REST and gRPC (and any later caller, such as a batch scorer) only translate to and from these calls;
/// routing, the registry and the lifecycle stay behind it.
/// </summary>
/// <remarks>
/// An inference request is routed once: <see cref="Resolve(string, string?, in RoutingContext)"/> (or
/// <see cref="FindModel"/> then <see cref="Resolve(ModelRoute, string?, in RoutingContext)"/>, when the caller must refuse
/// an unknown model before it reads the request) gives a <see cref="ModelTarget"/> whose config decodes the inputs, and
/// <see cref="InferAsync(ModelTarget, InferenceRequest, RoutingContext, CancellationToken)"/> runs the request on it. Only
/// when that version was retired in between is the request routed again, to the version that replaced it, so swapping
/// versions fails no request.
/// </remarks>
public sealed class InferenceFrontDoor
{
    // A version is retired only after the route table stopped routing to it, so the second attempt finds its successor;
    // more attempts cover versions swapped again meanwhile.
    private const int RetiredRetries = 3;

    private readonly ModelRegistry _registry;
    private readonly ModelRouter _router;
    private readonly ModelLifecycle _lifecycle;
    private readonly ServerReadiness _readiness;
    private readonly FeatureStage _features;
    private readonly Residency.OnDemandLoads? _onDemand;
    private readonly Residency.ModelResidency? _residency;

    internal InferenceFrontDoor(ModelRegistry registry, ModelRouter router, RouteServices routes, ModelLifecycle lifecycle, ServerReadiness readiness, ServerInfo server,
        FeatureStage features, Residency.OnDemandLoads? onDemand = null, Residency.ModelResidency? residency = null)
    {
        _onDemand = onDemand;
        _residency = residency;
        _features = features;
        routes.ShadowRunner = RunShadowAsync;
        routes.ShadowBatchRows = ShadowBatchRows;
        _registry = registry;
        _router = router;
        _lifecycle = lifecycle;
        _readiness = readiness;
        Server = server;
    }

    /// <summary>What the server metadata reports: name, version, extensions and backends.</summary>
    public ServerInfo Server { get; }

    /// <summary>True while the process serves requests at all (it is: whoever can ask is answered).</summary>
    public bool IsLive => true;

    /// <summary>True when the server takes inference traffic (see <see cref="ServerReadiness"/>).</summary>
    public bool IsReady => _readiness.IsReady;

    /// <summary>
    /// Loads the model repositories as the control mode says; the server is ready once this is done (and, with strict
    /// readiness, every model asked for serves). Models that fail to load do not fail this call: see <see cref="StartupFailures"/>.
    /// Then the feature sidecar's lookup path is warmed (<see cref="FeatureStage.WarmUpAsync"/>).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.LoadRepositoryAsync(cancellationToken).ConfigureAwait(false);
        await _features.WarmUpAsync(_registry.Snapshot.Views.Values, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the startup load failed to load, one line each; empty when everything loaded.</summary>
    public IReadOnlyList<string> StartupFailures() => _readiness.StartupFailures();

    /// <summary>
    /// The server is stopping: it reports not ready from now on, so probes send traffic elsewhere while it drains, and
    /// loads in progress are cancelled (they fail; what served keeps serving until the drain), so none holds up the exit.
    /// </summary>
    public void BeginStopping()
    {
        _readiness.BeginStopping();
        _lifecycle.BeginStopping();
    }

    /// <summary>
    /// In on-demand mode, loads <paramref name="model"/> when it is in a repository but not loaded, and completes once it
    /// serves: the request that calls this (before <see cref="FindModel"/>) then runs as on a warm model. Returns how long
    /// it waited for the load (the protocols answer it as <c>Inference-Cold-Start-Ms</c>), null when it did not wait.
    /// Unavailable with a retry hint when the wait is too long or too many wait (see <see cref="Residency.OnDemandLoads"/>),
    /// or when the load failed or did not fit the memory budget (the reason says which).
    /// </summary>
    public ValueTask<TimeSpan?> AwaitModelAsync(string model, CancellationToken cancellationToken) =>
        _onDemand is null ? ValueTask.FromResult<TimeSpan?>(null) : _onDemand.AwaitAsync(model, cancellationToken);

    /// <summary>The route of <paramref name="model"/>; NotFound when the server has no such model (or it was unloaded).</summary>
    public ModelRoute FindModel(string model) => _router.Find(model);

    /// <summary>
    /// The feature view that encodes requests to <paramref name="name"/>: the one its own folder declares (a model's, or a
    /// route folder's), else, for a route, the one of its primary variant's model; null when there is none.
    /// </summary>
    public FeatureView? FindFeatureView(string name)
    {
        var snapshot = _registry.Snapshot;
        if (snapshot.Views.TryGetValue(name, out var own))
        {
            return own;
        }
        return snapshot.Routes.TryGetValue(name, out var route) && route.Config.Variant.Count > 0
            && snapshot.Views.TryGetValue(route.Config.Variant[0].Model, out var primary)
            ? primary
            : null;
    }

    /// <summary>
    /// The version a request to <paramref name="model"/> goes to: the routing policy's choice given the named
    /// <paramref name="version"/> (null or empty: none) and the request's <paramref name="context"/>. NotFound for an
    /// unknown model or version, Unavailable when it exists but cannot serve.
    /// </summary>
    public ModelTarget Resolve(string model, string? version, in RoutingContext context) => _router.Resolve(model, version, context);

    /// <summary>As <see cref="Resolve(string, string?, in RoutingContext)"/>, within a route <see cref="FindModel"/> gave.</summary>
    public ModelTarget Resolve(ModelRoute route, string? version, in RoutingContext context) => _router.Resolve(route, version, context);

    /// <summary>
    /// The version whose metadata and config describe <paramref name="model"/>: for a declared route, its primary
    /// variant's (or, with <paramref name="version"/>, that version of the route's model), whichever variant a request
    /// would go to; for a model, the version a request goes to. NotFound / Unavailable as <see cref="Resolve(string, string?, in RoutingContext)"/>.
    /// </summary>
    public ModelTarget Describe(string model, string? version, in RoutingContext context) => _router.Describe(_router.Find(model), version, context);

    /// <summary>As <see cref="Describe(string, string?, in RoutingContext)"/>, within a route <see cref="FindModel"/> gave.</summary>
    public ModelTarget Describe(ModelRoute route, string? version, in RoutingContext context) => _router.Describe(route, version, context);

    /// <summary>True when the model (and version) resolves to a version that serves.</summary>
    public bool IsModelReady(string model, string? version, in RoutingContext context)
    {
        try
        {
            _router.Resolve(model, version, context);
            return true;
        }
        catch (InferenceException e) when (e.Kind is InferenceErrorKind.NotFound or InferenceErrorKind.Unavailable)
        {
            return false;
        }
    }

    /// <summary>The completed config that describes <paramref name="model"/> (and <paramref name="version"/>): see <see cref="Describe(string, string?, in RoutingContext)"/>.</summary>
    public ModelConfig ModelConfig(string model, string? version, in RoutingContext context) => Describe(model, version, context).Config;

    /// <summary>
    /// Admission before a request's body is read: the message of the 503 a request to <paramref name="target"/> would get
    /// now because its queue is full, counted as a refused request; null when it may be admitted (then its body is read
    /// and it runs as usual). Under overload this is how most requests are refused: without reading or decoding a body
    /// and without an exception. A route's variant is left to the route, which times and counts its own requests.
    /// </summary>
    public string? RefuseBeforeReading(ModelTarget target) => target.Variant is null ? target.Serving.RefuseBeforeReading() : null;

    /// <summary>When a client refused by <see cref="RefuseBeforeReading"/> may try again.</summary>
    public static TimeSpan RefusalRetryAfter => Scheduling.ModelScheduler.RetryAfter;

    /// <summary>
    /// Runs <paramref name="request"/> on <paramref name="target"/>, which routed it. When that version was retired
    /// since, the request is routed again (with the same <paramref name="context"/>) and runs on the version that
    /// replaced it. A target of a route's variant is timed and recorded for its variant (see
    /// <see cref="RouteRuntime.Completed"/>) and its response names the variant. The caller disposes the response.
    /// </summary>
    public Task<InferenceResponse> InferAsync(ModelTarget target, InferenceRequest request, RoutingContext context, CancellationToken cancellationToken) =>
        InferAsync(target, request, context, shadow: false, cancellationToken);

    // As the public InferAsync; a shadow's copy (shadow) is run and timed like any request to its variant, but it is not
    // a request of the experiment: its answer carries the primary's id and must not take that id's outcome.
    private Task<InferenceResponse> InferAsync(ModelTarget target, InferenceRequest request, RoutingContext context, bool shadow, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var version = target.Serving;
            if (version.TryEnter())
            {
                // A model's request pays one null check here for the routes: nothing else is added to its path.
                return target.Variant is { } variant
                    ? RunVariantAsync(variant, version, request, forced: context.Headers[variant.Traffic.Runtime.VariantHeader] is not null, shadow, cancellationToken)
                    : version.RunEnteredAsync(request, cancellationToken);
            }
            if (attempt == RetiredRetries)
            {
                throw version.NotServing();
            }
            // Retired after the target was chosen; the swap that retired it is already in the route table. On demand, a
            // version evicted rather than replaced leaves its model out of the table: the request then waits for the
            // model to load again, as one arriving now would, instead of finding it unknown.
            if (_onDemand is not null && !_router.Table.TryFind(request.ModelName, out _))
            {
                return InferAfterColdStartAsync(request, context, shadow, cancellationToken);
            }
            target = _router.Resolve(request.ModelName, request.ModelVersion, context);
        }
    }

    private async Task<InferenceResponse> InferAfterColdStartAsync(InferenceRequest request, RoutingContext context, bool shadow, CancellationToken cancellationToken)
    {
        await _onDemand!.AwaitAsync(request.ModelName, cancellationToken).ConfigureAwait(false);
        return await InferAsync(_router.Resolve(request.ModelName, request.ModelVersion, context), request, context, shadow, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Routes <paramref name="request"/> by the model and version it names, then runs it (for callers that decode without
    /// the model's config). A request without inputs that names an entity or carries a raw record
    /// (<see cref="FeatureParameters"/>) first gets its inputs from the model's feature view.
    /// </summary>
    public Task<InferenceResponse> InferAsync(InferenceRequest request, RoutingContext context, CancellationToken cancellationToken) =>
        Features(request) is { } query
            ? InferWithFeaturesAsync(null, request, query, context, cancellationToken)
            : InferAsync(_router.Resolve(request.ModelName, request.ModelVersion, context), request, context, cancellationToken);

    /// <summary>As <see cref="InferAsync(InferenceRequest, RoutingContext, CancellationToken)"/>, within a route <see cref="FindModel"/> gave.</summary>
    public Task<InferenceResponse> InferAsync(ModelRoute route, InferenceRequest request, RoutingContext context, CancellationToken cancellationToken) =>
        Features(request) is { } query
            ? InferWithFeaturesAsync(route, request, query, context, cancellationToken)
            : InferAsync(_router.Resolve(route, request.ModelVersion, context), request, context, cancellationToken);

    /// <summary>
    /// The predict call: <paramref name="query"/>'s rows (raw records, entities or both) become <paramref name="request"/>'s
    /// inputs through the feature view of the name it addresses, then it is routed (within <paramref name="route"/>) and
    /// run as one request. The response carries the view (<see cref="InferenceResponse.FeatureView"/>), whose labels
    /// <see cref="PredictionLabels"/> reads the outputs through.
    /// </summary>
    public Task<InferenceResponse> PredictAsync(ModelRoute route, InferenceRequest request, FeatureQuery query, RoutingContext context, CancellationToken cancellationToken) =>
        InferWithFeaturesAsync(route, request, query, context, cancellationToken);

    // Only a request that leaves its inputs to the view is looked at further: one with inputs pays one count check.
    private static FeatureQuery? Features(InferenceRequest request) =>
        request.Inputs.Count == 0 ? FeatureQuery.FromParameters(request.Parameters) : null;

    // Before routing: a route's variants take the same inputs, made once by the view the route's name finds.
    private async Task<InferenceResponse> InferWithFeaturesAsync(ModelRoute? route, InferenceRequest request, FeatureQuery query, RoutingContext context,
        CancellationToken cancellationToken)
    {
        var view = FindFeatureView(request.ModelName) ?? throw InferenceException.Invalid(
            $"'{request.ModelName}' has no feature view (a features.pbtxt in its folder), so it cannot take an entity or a raw record: send its inputs");
        await _features.ApplyAsync(view, query, request, cancellationToken).ConfigureAwait(false);
        var target = route is null ? _router.Resolve(request.ModelName, request.ModelVersion, context) : _router.Resolve(route, request.ModelVersion, context);
        var response = await InferAsync(target, request, context, cancellationToken).ConfigureAwait(false);
        response.FeatureView = view;
        return response;
    }

    // The traffic path: a request a route sent to one of its variants, admitted on the variant's version already.
    // A request forced to a variant (by hand, or a shadow's copy) is neither shadowed nor counted as weighted traffic.
    private static async Task<InferenceResponse> RunVariantAsync(RouteVariant variant, ModelVersion version, InferenceRequest request, bool forced,
        bool shadow, CancellationToken cancellationToken)
    {
        var runtime = variant.Traffic.Runtime;
        if (!shadow && runtime.GivesRequestIds && request.Id.Length == 0)
        {
            // Feedback names the request by its id, so a request of an experiment without one gets one (echoed in the answer).
            request.Id = GeneratedRequestIds.Next();
        }
        // The copy is taken before the variant runs: running reshapes and may release the request's inputs.
        var copy = !forced && runtime.Shadow is { } mirror && variant.Index != runtime.ShadowIndex ? mirror.Sample(request) : null;
        // Read before the request runs: a rollout step taken while it runs must not count it against the new weights.
        var window = forced ? null : runtime.Weights.Window;
        var startedAt = Stopwatch.GetTimestamp();
        InferenceResponse response;
        try
        {
            try
            {
                response = await version.RunEnteredAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                runtime.Completed(variant.Index, window, succeeded: false, Stopwatch.GetElapsedTime(startedAt), response: null, shadow);
                throw;
            }
            // A request the client cancelled says nothing about the variant, so it is not recorded at all.
            response.Variant = variant.Name;
            response.VariantHeader = runtime.VariantHeader;
            runtime.Completed(variant.Index, window, succeeded: true, Stopwatch.GetElapsedTime(startedAt), response, shadow);
            copy?.Send(response);
        }
        finally
        {
            // After a send this does nothing; when the primary failed it releases the copy.
            copy?.Cancel();
        }
        return response;
    }

    // A shadow's copy runs on the route's shadow variant, forced by the route's own header so that a version swap in
    // the middle re-routes it to the shadow again rather than by weight.
    private Task<InferenceResponse> RunShadowAsync(RouteRuntime runtime, InferenceRequest request, CancellationToken cancellationToken)
    {
        var context = new RoutingContext(new RequestHeaders(runtime, ShadowHeaders), null);
        return InferAsync(_router.Resolve(runtime.Name, null, context), request, context, shadow: true, cancellationToken);
    }

    // The shadow variant's max_batch_size as its copies would be routed now; 0 (one by one) when it does not serve.
    private int ShadowBatchRows(RouteRuntime runtime)
    {
        var context = new RoutingContext(new RequestHeaders(runtime, ShadowHeaders), null);
        try
        {
            return (int)Math.Min(_router.Resolve(runtime.Name, null, context).Config.MaxBatchSize, int.MaxValue);
        }
        catch (InferenceException)
        {
            return 0;
        }
    }

    private static readonly Func<object, string, string?> ShadowHeaders = static (source, name) =>
    {
        var runtime = (RouteRuntime)source;
        return string.Equals(name, runtime.VariantHeader, StringComparison.Ordinal) ? runtime.VariantNames[runtime.ShadowIndex] : null;
    };

    /// <summary>
    /// Joins <paramref name="outcome"/> to the variant that answered request <paramref name="requestId"/> of route
    /// <paramref name="route"/>. NotFound for a name that is not a route with an experiment, or an id the route does not
    /// remember; InvalidArgument for an id that already has an outcome.
    /// </summary>
    public RouteFeedback Feedback(string route, string requestId, Outcome outcome)
    {
        var runtime = Runtime(route);
        var outcomes = runtime.Outcomes ?? throw NoExperiment(runtime);
        var variant = outcomes.Join(requestId, outcome);
        return new RouteFeedback(runtime.Name, requestId, runtime.VariantNames[variant], runtime.Declaration.Config.Variant[variant].Model);
    }

    /// <summary>The A/B report of <paramref name="route"/>'s experiment; NotFound for a name that is not a route with an experiment.</summary>
    public ExperimentReport Experiment(string route)
    {
        var runtime = Runtime(route);
        var outcomes = runtime.Outcomes ?? throw NoExperiment(runtime);
        var declared = runtime.Declaration.Config.Variant;
        // The weights and the requests they routed come from one window, so the split is judged against the weights in force.
        var window = runtime.Weights.Window;
        var traffic = new VariantTraffic[declared.Count];
        for (var i = 0; i < traffic.Length; i++)
        {
            var version = declared[i].Version > 0 ? declared[i].Version.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
            traffic[i] = new VariantTraffic(declared[i].Name, declared[i].Model, version, window.Weights[i], runtime.WeightedRequests(i), window.Requests(i));
        }
        return ExperimentReport.Build(runtime.Name, traffic, outcomes.Snapshot(), runtime.Declaration.Config.Experiment);
    }

    /// <summary>The state and history of <paramref name="route"/>'s rollout; NotFound for a name that is not a route with a rollout.</summary>
    public RolloutStatus Rollout(string route) => RolloutOf(route).Status();

    /// <summary>
    /// An operator's <paramref name="action"/> on <paramref name="route"/>'s rollout: pause, resume, promote (to the next
    /// step now) or abort (the canary to 0). InvalidArgument for another action or one the rollout's state does not allow.
    /// </summary>
    public RolloutStatus ControlRollout(string route, string action)
    {
        var rollout = RolloutOf(route);
        return action switch
        {
            "pause" => rollout.Pause(),
            "resume" => rollout.Resume(),
            "promote" => rollout.Promote(),
            "abort" => rollout.Abort(),
            _ => throw InferenceException.Invalid($"'{action}' is not a rollout action: pause, resume, promote or abort"),
        };
    }

    private RolloutController RolloutOf(string route)
    {
        var runtime = Runtime(route);
        return runtime.Rollout ?? throw new InferenceException(InferenceErrorKind.NotFound,
            $"route '{runtime.Name}' declares no rollout: add a rollout {{ }} section to its {RouteDeclaration.FileName}");
    }

    private RouteRuntime Runtime(string route) =>
        _router.Table.Runtimes.TryGetValue(route, out var runtime)
            ? runtime
            : throw new InferenceException(InferenceErrorKind.NotFound, $"'{route}' is not a route: no {RouteDeclaration.FileName} declares it");

    private static InferenceException NoExperiment(RouteRuntime runtime) => new(InferenceErrorKind.NotFound,
        $"route '{runtime.Name}' declares no experiment: add an experiment {{ }} section to its {RouteDeclaration.FileName}");

    /// <summary>
    /// The drift report of the version a request to <paramref name="model"/> (and <paramref name="version"/>) goes to:
    /// its live window against its training profile. NotFound / Unavailable as <see cref="Describe(string, string?, in RoutingContext)"/>;
    /// NotFound naming why when the version is not monitored (no profile, an unusable one, monitoring off).
    /// </summary>
    public Drift.DriftReport Drift(string model, string? version)
    {
        var serving = Describe(model, version, default).Serving;
        return serving.Drift is { } monitor
            ? monitor.Report()
            : throw new InferenceException(InferenceErrorKind.NotFound, serving.DriftProblem.Length > 0
                ? serving.DriftProblem
                : $"model '{serving.Name}' version {serving.VersionText} is not monitored for drift");
    }

    /// <summary>
    /// The statistics a request selects. No model: every version that has statistics (every loaded one). A model: its
    /// versions that have them. A model and version: that one version. An unknown model or version, or one that is not
    /// ready, throws the same NotFound / Unavailable as the other calls.
    /// </summary>
    public IReadOnlyList<ModelStatisticsSnapshot> Statistics(string? model, string? version)
    {
        var snapshots = new List<ModelStatisticsSnapshot>();
        var models = _registry.Snapshot.Models;
        if (string.IsNullOrEmpty(model))
        {
            foreach (var entry in models.Values.OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                AddVersions(entry, snapshots);
            }
        }
        else if (!string.IsNullOrEmpty(version) || !models.TryGetValue(model, out var entry))
        {
            // A named version, or a name that is no model: a route declared alone, described by its primary's version as its metadata is.
            snapshots.Add(Describe(model, version, default).Serving.Statistics!.Snapshot());
        }
        else
        {
            AddVersions(entry, snapshots);
            if (snapshots.Count == 0)
            {
                _router.Resolve(model, null, default);
            }
        }
        return snapshots;
    }

    /// <summary>
    /// Every model and version the server knows, with its state and reason (see <see cref="ModelIndexEntry"/>): what the
    /// registry holds, and in explicit and on-demand modes the repositories' models that are not loaded; each loaded
    /// version with the memory it holds, the budget and the headroom (<see cref="ModelIndexEntry.Memory"/>).
    /// </summary>
    public IReadOnlyList<ModelIndexEntry> RepositoryIndex()
    {
        _lifecycle.RefreshRepositoryContents();
        return _residency is null ? _registry.Index() : _residency.Describe(_registry.Index());
    }

    /// <summary>
    /// Begins the uploaded files of a repository-API load for <paramref name="model"/> (see
    /// <see cref="ModelLifecycle.BeginUpload"/>): the protocol writes each file into it as it reads the request, passes
    /// it to <see cref="LoadModelAsync"/> in <see cref="ModelLoadOverrides.Files"/>, and disposes it once the load is done.
    /// </summary>
    public ModelUpload BeginUpload(string model) => _lifecycle.BeginUpload(model);

    /// <summary>The repository API's load (see <see cref="ModelLifecycle.LoadModelAsync"/>): completes once the model serves, or throws why not.</summary>
    public Task LoadModelAsync(string model, ModelLoadOverrides? overrides, CancellationToken cancellationToken) =>
        _lifecycle.LoadModelAsync(model, overrides, cancellationToken);

    /// <summary>The repository API's unload (see <see cref="ModelLifecycle.UnloadModelAsync"/>): completes once the model's versions have drained.</summary>
    public Task UnloadModelAsync(string model, bool unloadDependents, CancellationToken cancellationToken) =>
        _lifecycle.UnloadModelAsync(model, unloadDependents, cancellationToken);

    private static void AddVersions(ModelEntry entry, List<ModelStatisticsSnapshot> snapshots)
    {
        foreach (var candidate in entry.Versions.Values.OrderBy(v => v.Version))
        {
            if (candidate.Statistics is not null)
            {
                snapshots.Add(candidate.Statistics.Snapshot());
            }
        }
    }
}
