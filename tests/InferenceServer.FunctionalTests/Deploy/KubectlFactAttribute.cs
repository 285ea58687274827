namespace InferenceServer.FunctionalTests.Deploy;

/// <summary>A test that needs <c>kubectl</c> on the PATH: skipped, saying so, where it is not installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class KubectlFactAttribute : FactAttribute
{
    public KubectlFactAttribute()
    {
        if (Kubectl.Path is null)
        {
            Skip = "kubectl is not installed (it renders the kustomization under deploy/); install kubectl 1.27 or later to run this test";
        }
    }
}
