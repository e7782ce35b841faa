namespace SslOrleans.Core.Models;

public sealed record BackboneOptions(string Name = "resnet18", int Width = 64, int InputChannels = 3)
{
    public void Validate()
    {
        if (Name != "resnet18") throw new ArgumentException($"backbone '{Name}' is unknown; known: resnet18", nameof(Name));
        if (Width < 1) throw new ArgumentOutOfRangeException(nameof(Width), Width, "width must be at least 1");
        if (InputChannels < 1) throw new ArgumentOutOfRangeException(nameof(InputChannels), InputChannels, "input channels must be at least 1");
    }

    public ResNet Create() => new(this);
}
