using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using InferenceServer.Core.Inference;

namespace InferenceServer.Core.Routing;

/// <summary>
/// One variant of a <see cref="TrafficRoute"/>, resolved against the route table it belongs to: the model version it
/// sends requests to now (its <see cref="Target"/>, built once with the table), or why it cannot serve.
/// </summary>
internal sealed class RouteVariant
{
    internal RouteVariant(TrafficRoute traffic, int index, Config.RouteVariant declared, IReadOnlyDictionary<string, ModelRoute> models)
    {
        Traffic = traffic;
        Index = index;
        Name = declared.Name;
        ModelName = declared.Model;
        Version = declared.Version;
        Seed = (long)XxHash3.HashToUInt64(MemoryMarshal.AsBytes(Name.AsSpan()));
        if (!models.TryGetValue(ModelName, out var model))
        {
            Reason = $"model '{ModelName}' is not loaded";
            return;
        }
        Model = model;
        try
        {
            var serving = Version == 0 ? model.NewestReady() : model.NamedVersion(Version.ToString(CultureInfo.InvariantCulture));
            // Addressed by the route's name; answered by the version's model, whose name the response carries.
            Target = new ModelTarget(traffic.Route, serving.Serving, this);
            Reason = "";
        }
        catch (InferenceException e)
        {
            Reason = e.Message;
        }
    }

    /// <summary>The route the variant belongs to.</summary>
    public TrafficRoute Traffic { get; }

    /// <summary>The variant's position in the declaration (0: the primary); indexes weights and metrics.</summary>
    public int Index { get; }

    /// <summary>The variant's name, as the forcing header, responses and metrics spell it.</summary>
    public string Name { get; }

    /// <summary>The model that serves the variant.</summary>
    public string ModelName { get; }

    /// <summary>The version of <see cref="ModelName"/> it serves; 0: the newest that model serves.</summary>
    public long Version { get; }

    /// <summary>The model's (plain) route in the table; null when the model is not loaded.</summary>
    public ModelRoute? Model { get; }

    /// <summary>Where the variant's requests go now; null when it cannot serve (see <see cref="Reason"/>).</summary>
    public ModelTarget? Target { get; }

    /// <summary>Why the variant cannot serve; empty when it can.</summary>
    public string Reason { get; }

    /// <summary>The seed of the variant's hash of a routing key: the hash of its name, so keys hash apart per variant.</summary>
    internal long Seed { get; }
}
