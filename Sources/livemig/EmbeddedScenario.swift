/// The scenario `livemig simulate` runs when given none: the seed document's 1024 MiB guest
/// (a copy of `scenarios/seed-1g.yaml`, kept in the binary so that a fresh install has a
/// default; a test checks that the two stay the same).
enum EmbeddedScenario {
    static let name = "seed-1g"
    static let yaml = """
    # The seed document's worked example (RHEL 5 Xen guide): a 1024 MiB guest moved live between
    # two hosts over gigabit Ethernet with `virsh migrate --live`, which took 10.4 s there
    # (and `virsh save` 15.7 s). The guest ran a loop that appended its host name and the date to
    # a log every 3 seconds: a light writer, modelled here as a small hot set.
    name: seed-1g
    description: "The seed's 1024 MiB Xen 3 guest over gigabit Ethernet (measured there: 10.4 s live)"
    seed: 1
    guest:
      memory: 1024MiB
      pageSize: 4KiB
    workload:
      kind: hotCold
      workingSet: 256MiB
      hotSet: 16MiB
      hotRate: 3000        # pages written per second in the hot set
      coldRate: 200        # pages written per second over the rest of the working set
    link:
      bandwidth: 845Mbit/s # Xen 3 over gigabit Ethernet: calibrated so the prediction meets the 10.4 s measured
      latency: 0.2ms
    policy:
      name: xen3

    """
}
