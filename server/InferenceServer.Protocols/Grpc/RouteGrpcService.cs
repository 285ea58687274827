using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Experiments;
using InferenceServer.Core.Routing.Rollouts;
using InferenceServer.Core.Serving;
using InferenceServer.Protocols.Grpc.Messages;
using InferenceServer.Protocols.Http;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// <c>inference_server.routing.RouteService</c>: a route's feedback, experiment report and rollout, translated between
/// protobuf messages and the front door's calls, as REST's <c>/feedback</c>, <c>/experiment</c> and <c>/rollout</c>
/// endpoints translate JSON. <see cref="RouteGrpcMethodProvider"/> binds the methods, each with its access category.
/// </summary>
/// <remarks>As for <see cref="InferenceGrpcService"/>: the attribute names the generated type whose descriptor reflection serves.</remarks>
[BindServiceMethod(typeof(RouteService), "BindService")]
internal sealed class RouteGrpcService(InferenceFrontDoor door)
{
    public const string ServiceName = "inference_server.routing.RouteService";

    public RouteFeedbackResponse RouteFeedback(RouteFeedbackRequest request)
    {
        var outcome = request.OutcomeCase switch
        {
            RouteFeedbackRequest.OutcomeOneofCase.Conversion => Outcome.Conversion(request.Conversion),
            RouteFeedbackRequest.OutcomeOneofCase.Label => Outcome.Label(request.Label),
            _ => throw InferenceException.Invalid("the feedback request gives no outcome: set conversion (true or false) or label (a number)"),
        };
        if (request.Id.Length == 0)
        {
            throw InferenceException.Invalid("the feedback request has no id: give the id of the request the outcome is for, as its answer gave it");
        }
        var joined = door.Feedback(request.Route, request.Id, outcome);
        return new RouteFeedbackResponse { Route = joined.Route, Id = joined.Id, Variant = joined.Variant, Model = joined.Model };
    }

    public RouteExperimentResponse RouteExperiment(RouteExperimentRequest request)
    {
        var report = door.Experiment(request.Route);
        var srm = report.SampleRatio;
        var response = new RouteExperimentResponse
        {
            Route = report.Route,
            Control = report.Control,
            Alpha = report.Alpha,
            Confidence = report.Confidence,
            Power = report.Power,
            Window = report.Window,
            Mde = report.MinimumDetectableEffect,
            Note = report.Note ?? "",
            Srm = new RouteExperimentResponse.Types.SampleRatio
            {
                ChiSquare = srm.ChiSquare,
                PValue = srm.PValue,
                Mismatch = srm.Mismatch,
                Note = srm.Note ?? "",
            },
        };
        foreach (var variant in report.Variants)
        {
            response.Variants.Add(new RouteExperimentResponse.Types.Variant
            {
                Name = variant.Name,
                Model = variant.Model,
                Version = variant.Version ?? "",
                Weight = variant.Weight,
                Requests = variant.Requests,
                Outcomes = variant.Outcomes,
                Conversions = variant.Conversions,
                Rate = variant.Rate,
                CiLow = variant.CiLow,
                CiHigh = variant.CiHigh,
                Labels = variant.Labels,
                MeanLabel = variant.MeanLabel,
                Accuracy = variant.Accuracy,
                MeanAbsError = variant.MeanAbsoluteError,
                Diff = variant.Difference,
                Lift = variant.Lift,
                PValue = variant.PValue,
                Significant = variant.Significant,
                Mde = variant.MinimumDetectableEffect,
                Note = variant.Note ?? "",
            });
        }
        return response;
    }

    public RouteRolloutResponse RouteRollout(RouteRolloutRequest request) => Rollout(door.Rollout(request.Route));

    public RouteRolloutResponse RouteRolloutAction(RouteRolloutActionRequest request) => Rollout(door.ControlRollout(request.Route, request.Action));

    private static RouteRolloutResponse Rollout(RolloutStatus status)
    {
        var config = status.Config;
        var response = new RouteRolloutResponse
        {
            Route = status.Route,
            Canary = config.Canary,
            Baseline = config.Baseline,
            State = RolloutJson.Name(status.State),
            Step = status.Step,
            Steps = { config.Steps },
            CanaryPercent = status.CanaryPercent,
            StepStarted = Timestamp.FromDateTimeOffset(status.StepStarted),
            StepSeconds = Math.Round(status.StepElapsed.TotalSeconds, 3),
            Waiting = status.Waiting ?? "",
            Gates = new RouteRolloutResponse.Types.Gates
            {
                MinStepSeconds = config.MinStepSeconds,
                MinRequests = config.MinRequests,
                MaxErrorRateIncrease = config.MaxErrorRateIncrease,
                MaxP99Ratio = config.MaxP99Ratio,
                MaxDecisionFlipRate = config.MaxDecisionFlipRate,
            },
            Window = new RouteRolloutResponse.Types.Window { Canary = Window(status.Canary), Baseline = Window(status.Baseline) },
            Promotions = status.Promotions,
            Rollbacks = status.Rollbacks,
        };
        if (status.Decisions is { } decisions && status.Flips is { } flips)
        {
            response.Window.Decisions = decisions;
            response.Window.Flips = flips;
            response.Window.FlipRate = decisions == 0 ? 0 : (double)flips / decisions;
        }
        foreach (var entry in status.History)
        {
            response.History.Add(new RouteRolloutResponse.Types.HistoryEntry
            {
                Time = Timestamp.FromDateTimeOffset(entry.Time),
                Event = RolloutJson.Name(entry.Kind),
                FromPercent = entry.FromPercent,
                ToPercent = entry.ToPercent,
                Reason = entry.Reason,
            });
        }
        return response;
    }

    private static RouteRolloutResponse.Types.VariantWindow Window(VariantWindowSnapshot window) => new()
    {
        Requests = window.Requests,
        Failures = window.Failures,
        ErrorRate = window.ErrorRate,
        P50Ms = window.P50Ms,
        P99Ms = window.P99Ms,
    };
}
