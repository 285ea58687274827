namespace InferenceServer.Core.Features;

/// <summary>What a raw field holds.</summary>
public enum FeatureKind
{
    /// <summary>A number; text given for it is parsed invariantly.</summary>
    Number,

    /// <summary>A text, looked up in a vocabulary; a number given for it is written invariantly first.</summary>
    Text,
}
