package dev.sluice.demo;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.cloud.client.loadbalancer.LoadBalanced;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestTemplate;

/**
 * The consumer of the seed: {@code GET /echo/{s}} calls {@code http://<demo.provider-service>/echo/{s}}
 * through a {@code @LoadBalanced} RestTemplate, so Spring Cloud LoadBalancer picks an instance
 * from the registry (round robin by default), exactly as an unmodified Spring Cloud app does.
 */
@RestController
@Profile("consumer")
public class ConsumerController {
  private final RestTemplate restTemplate;
  private final String providerService;

  public ConsumerController(RestTemplate restTemplate,
      @Value("${demo.provider-service}") String providerService) {
    this.restTemplate = restTemplate;
    this.providerService = providerService;
  }

  @GetMapping("/echo/{string}")
  public String echo(@PathVariable("string") String string) {
    return restTemplate.getForObject("http://" + providerService + "/echo/" + string, String.class);
  }

  @Configuration(proxyBeanMethods = false)
  @Profile("consumer")
  static class LoadBalancedClient {
    @Bean
    @LoadBalanced
    RestTemplate restTemplate() {
      return new RestTemplate();
    }
  }
}
