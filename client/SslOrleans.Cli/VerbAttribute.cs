namespace SslOrleans.Cli;

/// <summary>
/// Marks a class that makes one of sslo's top-level commands with a <c>public static Command Create()</c>. Sslo finds
/// every marked class in this assembly, so that adding a verb is adding its file. <paramref name="order"/> places it in
/// the help's list of commands (lower first).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class VerbAttribute(int order) : Attribute
{
    public int Order { get; } = order;
}
